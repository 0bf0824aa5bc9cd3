/**
 * Read an unpacked image's root filesystem through the public API of any containerd-compatible
 * daemon (real containerd or berthd): create a view snapshot on the image's chain id, ask for its
 * mounts, mount them read-only into a temp dir, hand the dir to fn, then undo everything.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr, run, type RunResult } from './ctr';
import { unmountUnder } from './mounts';

/** containerd's identity.ChainID over rootfs diff_ids. */
export function chainId(diffIds: string[]): string {
  let chain = diffIds[0];
  for (const d of diffIds.slice(1)) chain = `sha256:${createHash('sha256').update(`${chain} ${d}`).digest('hex')}`;
  return chain;
}

export interface ParsedMount {
  type: string;
  source: string;
  options: string[];
}

/** Parses `ctr snapshots mounts` output: `mount -t <type> <source> <target> -o <opts>`. */
export function parseCtrMounts(out: string): ParsedMount[] {
  const res: ParsedMount[] = [];
  for (const line of out.split('\n')) {
    const m = /^mount -t (\S+) (\S+) (\S+)(?: -o (\S*))?$/.exec(line.trim());
    if (m) res.push({ type: m[1], source: m[2], options: m[4] ? m[4].split(',').filter(Boolean) : [] });
  }
  return res;
}

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code ?? r.signal}: ${r.stderr || r.stdout}`);
  return r;
}

/** Mounts one containerd mount read-only at target with mount(8). */
export async function mountReadOnly(m: ParsedMount, target: string): Promise<void> {
  const opts = m.options.filter((o) => o !== 'rw' && o !== 'ro');
  if (m.type === 'bind' || opts.includes('bind') || opts.includes('rbind')) {
    must(await run('mount', ['--bind', m.source, target], { timeoutMs: 10000 }), 'mount --bind');
    must(await run('mount', ['-o', 'remount,bind,ro', target], { timeoutMs: 10000 }), 'remount ro');
    return;
  }
  must(await run('mount', ['-t', m.type, '-o', ['ro', ...opts].join(','), m.source, target], { timeoutMs: 10000 }), `mount -t ${m.type}`);
}

/**
 * Runs fn(dir) with the image's rootfs mounted read-only at dir. `diffIds` are the image's
 * rootfs.diff_ids (from BuiltImage.layers or the config); the image must be unpacked already.
 */
export async function withImageRootfs<T>(
  address: string,
  diffIds: string[],
  fn: (dir: string) => Promise<T>,
  opts: { namespace?: string; snapshotter?: string } = {},
): Promise<T> {
  const ns = opts.namespace ?? 'default';
  const snap = ['snapshots', '--snapshotter', opts.snapshotter ?? 'overlayfs'];
  const key = `berth-view-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = await mkdtemp(join(tmpdir(), 'berth-view-'));
  const target = join(dir, 'rootfs');
  try {
    must(await run('mkdir', [target]), 'mkdir');
    // --mounts returns them in the same call: without a lease, containerd's GC may drop the view
    // itself at any moment; its mounts only name the parents, which the image keeps alive.
    const r = must(await ctr(address, [...snap, 'view', '--mounts', key, chainId(diffIds)], { namespace: ns, timeoutMs: 20000 }), 'ctr snapshots view');
    // Go's mount.Mount has no json tags: Type/Source/Options (lower case accepted for other servers).
    type M = { Type?: string; Source?: string; Options?: string[]; type?: string; source?: string; options?: string[] };
    const mounts: ParsedMount[] = (JSON.parse(r.stdout) as M[]).map((m) => ({
      type: m.Type ?? m.type ?? '',
      source: m.Source ?? m.source ?? '',
      options: m.Options ?? m.options ?? [],
    }));
    if (mounts.length !== 1) throw new Error(`expected one mount for view ${key}, got ${JSON.stringify(mounts)}`);
    await mountReadOnly(mounts[0], target);
    return await fn(target);
  } finally {
    await unmountUnder(dir);
    await ctr(address, [...snap, 'rm', key], { namespace: ns, timeoutMs: 20000 });
    await rm(dir, { recursive: true, force: true });
  }
}
