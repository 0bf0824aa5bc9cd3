/**
 * Snapshot-before / compare-after checks that a native test left nothing behind: mounts in
 * this mount namespace, cgroup dirs below the cgroup base (our own cgroups; cgroup-base.ts), and berth processes (helpers and
 * anything in a berth cgroup or descending from this process).
 */
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupBaseDirs, isCgroupV2 } from '../../src/tasks/cgroup-base';
import { slow } from './slow';

export { cgroupBaseDirs };

export interface SystemSnapshot {
  mounts: Set<string>;
  cgroups: Set<string>;
  pids: Set<number>;
}

function mounts(): Set<string> {
  return new Set(
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const f = l.split(' ');
        return `${f[4]} ${f[f.indexOf('-') + 1]}`;
      }),
  );
}

/** The cgroup dir of a controller for a path relative to the base below which berth nests its cgroups. */
export function cgroupDir(controller: string, rel: string): string {
  const v2 = isCgroupV2();
  const base = cgroupBaseDirs().find((d) => v2 || d.startsWith(`/sys/fs/cgroup/${controller}/`) || d === `/sys/fs/cgroup/${controller}`);
  if (!base) throw new Error(`no cgroup for ${controller}`);
  return join(base, rel);
}

function cgroups(): Set<string> {
  const out = new Set<string>();
  const walk = (d: string, depth: number) => {
    if (depth > 6) return;
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e);
      try {
        if (statSync(p).isDirectory()) {
          out.add(p);
          walk(p, depth + 1);
        }
      } catch {
        /* raced with a removal */
      }
    }
  };
  for (const d of cgroupBaseDirs()) walk(d, 0);
  return out;
}

function berthPids(): Set<number> {
  const out = new Set<number>();
  const self = process.pid;
  const parents = new Map<number, number>();
  const pids = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  for (const pid of pids) {
    if (pid === self) continue;
    let berth = false;
    try {
      berth = readlinkSync(`/proc/${pid}/exe`).endsWith('berth-helper') || /:\/(.*\/)?berth\//.test(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    } catch {
      /* kernel thread or gone */
    }
    for (let p = parents.get(pid), n = 0; !berth && p !== undefined && p > 1 && n < 64; p = parents.get(p), n++) if (p === self) berth = true;
    if (berth) out.add(pid);
  }
  return out;
}

export function snapshot(): SystemSnapshot {
  return { mounts: mounts(), cgroups: cgroups(), pids: berthPids() };
}

const diff = <T>(now: Set<T>, before: Set<T>) => [...now].filter((x) => !before.has(x));

/** Polls (bounded) until nothing new remains, then throws a description of what leaked. */
export async function expectClean(before: SystemSnapshot, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + slow(timeoutMs);
  for (;;) {
    const now = snapshot();
    const leaks = {
      mounts: diff(now.mounts, before.mounts),
      cgroups: diff(now.cgroups, before.cgroups),
      pids: diff(now.pids, before.pids).map((p) => {
        try {
          return `${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')}`;
        } catch {
          return `${p}`;
        }
      }),
    };
    if (!leaks.mounts.length && !leaks.cgroups.length && !leaks.pids.length) return;
    if (Date.now() > deadline) throw new Error(`test left resources behind: ${JSON.stringify(leaks)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
