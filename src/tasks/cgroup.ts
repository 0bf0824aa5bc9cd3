/**
 * Host-side cgroup access for a running task: its dirs are found from /proc/<init pid>/cgroup
 * (the same from a restarted daemon), then pids, stats and limits are plain file reads/writes.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, internal, invalidArgument, notFound } from '../core/errors';
import { CGROUP_ROOT, cgroupBaseMap, isCgroupV2, parseProcCgroup } from './cgroup-base';
import type { ResourceUpdate } from './types';

export { cgroupBaseDirs, prepareCgroupBase, removeEmptyCgroupParents } from './cgroup-base';

/** controller → dir (v1); on v2 the single unified dir under the key ''. */
export type CgroupDirs = Map<string, string>;

export async function cgroupDirsOf(pid: number, what: string): Promise<CgroupDirs> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ESRCH') throw notFound(`${what}: process ${pid} is gone`, { cause: e });
    throw internal(`${what}: cannot read /proc/${pid}/cgroup`, { cause: e });
  }
  const { unified, v1 } = parseProcCgroup(text);
  const out: CgroupDirs = new Map();
  if (isCgroupV2()) {
    if (unified !== undefined) out.set('', join(CGROUP_ROOT, unified));
    return out;
  }
  for (const [c, path] of v1) if (existsSync(join(CGROUP_ROOT, c))) out.set(c, join(CGROUP_ROOT, c, path));
  return out;
}

/**
 * A task's cgroup dirs from the path its plan gave (relative to the base, as the helper made it):
 * not from /proc/<pid>/cgroup, which names a sub-cgroup once a container that owns its cgroup
 * moved its init there.
 */
export function cgroupDirsAt(rel: string): CgroupDirs {
  const out: CgroupDirs = new Map();
  for (const [c, base] of cgroupBaseMap()) out.set(c, join(base, rel));
  return out;
}

const dirFor = (dirs: CgroupDirs, controller: string): string | undefined => dirs.get('') ?? dirs.get(controller);

export async function readText(file: string | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Every process in the task's cgroup and in the sub-cgroups a container that owns it made. */
export async function cgroupPids(dirs: CgroupDirs): Promise<number[]> {
  const dir = dirFor(dirs, 'pids') ?? dirFor(dirs, 'memory') ?? dirFor(dirs, 'freezer') ?? [...dirs.values()][0];
  const out: number[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    for (const line of ((await readText(join(d, 'cgroup.procs'))) ?? '').split('\n')) {
      const n = Number(line);
      if (line && Number.isInteger(n) && n > 0) out.push(n);
    }
    if (depth >= 32) return;
    const subs = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of subs) if (e.isDirectory()) await walk(join(d, e.name), depth + 1);
  };
  if (dir) await walk(dir, 0);
  return out;
}

async function write(dir: string | undefined, file: string, value: string | number, what: string): Promise<void> {
  if (!dir) throw notFound(`${what}: no cgroup for ${file}`);
  try {
    await writeFile(join(dir, file), String(value));
  } catch (e) {
    throw internal(`${what}: writing ${file}=${value}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * OCI memory.swap (memory+swap) → cgroup v2 memory.swap.max (swap alone), as runc and crun convert
 * it: -1 is unlimited, and a swap limit needs a memory limit no larger than it.
 */
export function swapMaxV2(swap: number, memory: number | undefined): number | 'max' {
  if (swap === -1) return 'max';
  if (memory === undefined || memory <= 0) throw invalidArgument(`memory.swap ${swap}: a swap limit needs a memory limit`);
  if (swap < memory) throw invalidArgument(`memory.swap ${swap} is below memory.limit ${memory} (swap is memory+swap)`);
  return swap - memory;
}

/** cpu.shares [2, 262144] → cpu.weight [1, 10000], the conversion runc and crun use. */
export const cpuWeight = (shares: number): number => Math.max(1, Math.min(10000, 1 + Math.floor(((shares - 2) * 9999) / 262142)));

async function updateV2(d: string, r: ResourceUpdate, what: string): Promise<void> {
  const m = r.memory;
  if (m?.limit !== undefined) await write(d, 'memory.max', m.limit > 0 ? m.limit : 'max', what);
  if (m?.reservation !== undefined) await write(d, 'memory.low', m.reservation > 0 ? m.reservation : 0, what);
  if (m?.swap !== undefined && m.swap !== 0) {
    const current = await readText(join(d, 'memory.max'));
    const limit = m.limit ?? (current === undefined || current === 'max' ? undefined : Number(current));
    await write(d, 'memory.swap.max', swapMaxV2(m.swap, limit), what);
  }
  const c = r.cpu;
  if (c?.shares !== undefined) await write(d, 'cpu.weight', cpuWeight(c.shares), what);
  if (c?.quota !== undefined || c?.period !== undefined) {
    // cpu.max holds both: keep the half the update does not name.
    const [curQuota, curPeriod] = ((await readText(join(d, 'cpu.max'))) ?? 'max 100000').split(' ');
    const quota = c.quota !== undefined ? (c.quota > 0 ? String(c.quota) : 'max') : curQuota;
    await write(d, 'cpu.max', `${quota} ${c.period ?? curPeriod ?? 100000}`, what);
  }
  if (c?.cpus) await write(d, 'cpuset.cpus', c.cpus, what);
  if (c?.mems) await write(d, 'cpuset.mems', c.mems, what);
  if (r.pids?.limit !== undefined) await write(d, 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max', what);
}

/** Applies OCI LinuxResources to a running task's cgroup (Tasks/Update). */
export async function updateResources(dirs: CgroupDirs, r: ResourceUpdate, what: string): Promise<void> {
  const unified = dirs.get('');
  if (unified !== undefined) return updateV2(unified, r, what);
  const mem = dirs.get('memory');
  if (r.memory?.limit !== undefined) {
    const limit = r.memory.limit > 0 ? r.memory.limit : -1;
    // memory+swap must stay ≥ memory: raise it first when growing.
    const swap = Number(await readText(mem && join(mem, 'memory.memsw.limit_in_bytes')));
    if (Number.isFinite(swap) && limit > swap) await write(mem, 'memory.memsw.limit_in_bytes', limit, what);
    await write(mem, 'memory.limit_in_bytes', limit, what);
  }
  if (r.memory?.reservation !== undefined) await write(mem, 'memory.soft_limit_in_bytes', r.memory.reservation, what);
  if (r.memory?.swap !== undefined) await write(mem, 'memory.memsw.limit_in_bytes', r.memory.swap, what);
  const cpu = dirs.get('cpu');
  if (r.cpu?.shares !== undefined) await write(cpu, 'cpu.shares', r.cpu.shares, what);
  if (r.cpu?.period !== undefined) await write(cpu, 'cpu.cfs_period_us', r.cpu.period, what);
  if (r.cpu?.quota !== undefined) await write(cpu, 'cpu.cfs_quota_us', r.cpu.quota, what);
  if (r.cpu?.cpus) await write(dirs.get('cpuset'), 'cpuset.cpus', r.cpu.cpus, what);
  if (r.cpu?.mems) await write(dirs.get('cpuset'), 'cpuset.mems', r.cpu.mems, what);
  if (r.pids?.limit !== undefined) await write(dirs.get('pids'), 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max', what);
}
