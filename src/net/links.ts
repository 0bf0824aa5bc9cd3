/** What berth asks the host's network stack through iproute2: routes in use, bridges to remove. */
import { existsSync } from 'node:fs';
import { internal } from '../core/errors';
import { describeFailure, runTool } from './exec';
import { parseCidr, type Cidr } from './ipv4';

/** Every IPv4 destination routed on this host (all tables; `default` left out), but those through `exceptDev`. */
export async function routedSubnets(exceptDev?: string): Promise<Cidr[]> {
  const r = await runTool('ip', ['-4', '-j', 'route', 'show', 'table', 'all'], { timeoutMs: 10_000, maxOutputBytes: 16 << 20 });
  if (r.code !== 0) throw internal(`ip route: ${describeFailure(r)}`);
  const routes = JSON.parse(r.stdout || '[]') as Array<{ dst?: string; dev?: string }>;
  const out: Cidr[] = [];
  for (const { dst, dev } of routes) {
    if (!dst || dst === 'default' || (exceptDev !== undefined && dev === exceptDev)) continue;
    try {
      out.push(parseCidr(dst.includes('/') ? dst : `${dst}/32`, 'route', false));
    } catch {
      /* not IPv4 */
    }
  }
  return out;
}

export function linkExists(name: string): boolean {
  return /^[^\s/:]{1,15}$/.test(name) && existsSync(`/sys/class/net/${name}`);
}

/** Whether the link is a port of a bridge (a veth's host end, not the bridge itself). */
export function isBridgePort(name: string): boolean {
  return linkExists(name) && existsSync(`/sys/class/net/${name}/brport`);
}

/**
 * Waits until the links are gone (the kernel removes a dead namespace's veth pairs on its own,
 * asynchronously); any still there after `ms` is deleted (something else kept the namespace
 * alive). `held` says whether something does: asked once the kernel has had a few ms, it ends
 * the wait at once (a `container:` joiner keeps the namespace: the kernel never removes them).
 * Returns when none is left.
 */
export async function linksGone(names: readonly string[], o: { ms?: number; held?: () => boolean } = {}): Promise<void> {
  const start = Date.now();
  const until = start + (o.ms ?? 1000);
  let asked = false;
  let left = names.filter(linkExists);
  while (left.length && Date.now() < until) {
    if (!asked && o.held && Date.now() - start >= HELD_CHECK_AFTER_MS) {
      asked = true;
      if (o.held()) break;
    }
    await new Promise((r) => setTimeout(r, 2));
    left = left.filter(linkExists);
  }
  for (const n of left) await deleteLink(n);
}

/** The kernel takes a dead namespace's veths down within a few ms here; a joiner is looked for after this. */
const HELD_CHECK_AFTER_MS = 20;

/** Deletes a link (a bridge berth made); a missing one is fine. */
export async function deleteLink(name: string): Promise<void> {
  if (!linkExists(name)) return;
  const r = await runTool('ip', ['link', 'del', name], { timeoutMs: 10_000 });
  if (r.code !== 0 && linkExists(name)) throw internal(`ip link del ${name}: ${describeFailure(r)}`);
}
