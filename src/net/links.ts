/** What berth asks the host's network stack through iproute2: routes in use, bridges to remove. */
import { existsSync } from 'node:fs';
import { internal } from '../core/errors';
import { describeFailure, runTool } from './exec';
import { parseCidr, type Cidr } from './ipv4';

/** Every IPv4 destination routed on this host (all tables; `default` left out). */
export async function routedSubnets(): Promise<Cidr[]> {
  const r = await runTool('ip', ['-4', '-j', 'route', 'show', 'table', 'all'], { timeoutMs: 10_000, maxOutputBytes: 16 << 20 });
  if (r.code !== 0) throw internal(`ip route: ${describeFailure(r)}`);
  const routes = JSON.parse(r.stdout || '[]') as Array<{ dst?: string }>;
  const out: Cidr[] = [];
  for (const { dst } of routes) {
    if (!dst || dst === 'default') continue;
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

/** Deletes a link (a bridge berth made); a missing one is fine. */
export async function deleteLink(name: string): Promise<void> {
  if (!linkExists(name)) return;
  const r = await runTool('ip', ['link', 'del', name], { timeoutMs: 10_000 });
  if (r.code !== 0 && linkExists(name)) throw internal(`ip link del ${name}: ${describeFailure(r)}`);
}
