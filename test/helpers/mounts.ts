/**
 * Mount bookkeeping for fixtures: find and undo every mount under a directory (overlay snapshots,
 * shm, bind mounts), deepest first, so `rm -rf` never walks into a live mount.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { run } from './ctr';

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or under `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.replace(/\/+$/, '');
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = unescapeMountinfo(mp);
    if (p === prefix || p.startsWith(prefix + '/')) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmounts everything under `dir`; falls back to a lazy unmount so cleanup never hangs. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const left: string[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const mps = mountsUnder(dir);
    if (mps.length === 0) return [];
    for (const mp of mps) {
      const r = await run('umount', [mp], { timeoutMs: 10000 });
      if (r.code !== 0) await run('umount', ['-l', mp], { timeoutMs: 10000 });
    }
  }
  left.push(...mountsUnder(dir));
  return left;
}

/** pids whose command line contains every one of `needles` (e.g. shims of one containerd). */
export function pidsWithCmdline(...needles: string[]): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (needles.every((n) => cmd.includes(n))) pids.push(Number(d));
    } catch {
      // raced with exit
    }
  }
  return pids;
}

/**
 * A test daemon's dirs, gone: every process whose command line names `dir` (a killed berthd's
 * staging helpers, its monitors) SIGKILLed, every mount under it undone, then the tree removed.
 */
export async function removeDaemonDir(dir: string): Promise<void> {
  for (const pid of pidsWithCmdline(dir)) process.kill(pid, 'SIGKILL');
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
}
