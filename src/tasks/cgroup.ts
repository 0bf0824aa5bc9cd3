/**
 * Host-side cgroup access for a running task: its dirs are found from /proc/<init pid>/cgroup
 * (the same from a restarted daemon), then pids, stats and limits are plain file reads/writes.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, internal, notFound } from '../core/errors';
import type { ResourceUpdate } from './types';

export const CGROUP_ROOT = '/sys/fs/cgroup';
export const isCgroupV2 = (): boolean => existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));

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
  const v2 = isCgroupV2();
  const out: CgroupDirs = new Map();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, ctrls, path] = m;
    if (v2) {
      if (ctrls === '') out.set('', join(CGROUP_ROOT, path!));
      continue;
    }
    for (const c of ctrls!.split(',')) if (c && !c.startsWith('name=') && existsSync(join(CGROUP_ROOT, c))) out.set(c, join(CGROUP_ROOT, c, path!));
  }
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

/** Every process in the task's cgroup. */
export async function cgroupPids(dirs: CgroupDirs): Promise<number[]> {
  const dir = dirFor(dirs, 'pids') ?? dirFor(dirs, 'memory') ?? dirFor(dirs, 'freezer') ?? [...dirs.values()][0];
  const text = await readText(dir && join(dir, 'cgroup.procs'));
  return (text ?? '')
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

async function write(dir: string | undefined, file: string, value: string | number, what: string): Promise<void> {
  if (!dir) throw notFound(`${what}: no cgroup for ${file}`);
  try {
    await writeFile(join(dir, file), String(value));
  } catch (e) {
    throw internal(`${what}: writing ${file}=${value}: ${(e as Error).message}`, { cause: e });
  }
}

/** Applies OCI LinuxResources to a running task's cgroup (Tasks/Update). */
export async function updateResources(dirs: CgroupDirs, r: ResourceUpdate, what: string): Promise<void> {
  if (dirs.has('')) {
    const d = dirs.get('');
    if (r.memory?.limit !== undefined) await write(d, 'memory.max', r.memory.limit > 0 ? r.memory.limit : 'max', what);
    if (r.cpu?.shares !== undefined) await write(d, 'cpu.weight', Math.max(1, Math.min(10000, 1 + Math.round(((r.cpu.shares - 2) * 9999) / 262142))), what);
    if (r.cpu?.quota !== undefined || r.cpu?.period !== undefined)
      await write(d, 'cpu.max', `${r.cpu.quota !== undefined && r.cpu.quota > 0 ? r.cpu.quota : 'max'} ${r.cpu.period ?? 100000}`, what);
    if (r.cpu?.cpus) await write(d, 'cpuset.cpus', r.cpu.cpus, what);
    if (r.pids?.limit !== undefined) await write(d, 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max', what);
    return;
  }
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

/** Our own cgroup dir in every mounted hierarchy (v1 controllers, or the v2 unified dir). */
function ownCgroupDirs(): string[] {
  const v2 = isCgroupV2();
  const out = new Set<string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, ctrls, path] = m;
    if (v2) {
      if (ctrls === '') out.add(join(CGROUP_ROOT, path!));
      continue;
    }
    for (const c of ctrls!.split(',')) if (c && !c.startsWith('name=') && existsSync(join(CGROUP_ROOT, c))) out.add(join(CGROUP_ROOT, c, path!));
  }
  return [...out];
}

/**
 * Removes the empty per-namespace dirs (`<parent>/<ns>`) and `<parent>` itself below our own
 * cgroup in every hierarchy. The helper leaves them when a container's cgroup goes (plan
 * cgroupKeep) so the next container need not re-create them; berthd calls this at start and at
 * shutdown. rmdir only ever removes an empty cgroup (no tasks, no children), so a running
 * container's dirs stay; the helper re-creates a parent removed under it (cgroup.c mkdir_below).
 */
export function removeEmptyCgroupParents(parent: string): void {
  const rel = parent.split('/').filter(Boolean);
  if (rel.length === 0) return;
  for (const own of ownCgroupDirs()) {
    const top = join(own, ...rel);
    let entries: string[];
    try {
      entries = readdirSync(top, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      continue; // not there: nothing to remove
    }
    for (const e of entries) tryRmdir(join(top, e));
    for (let i = rel.length; i > 0 && tryRmdir(join(own, ...rel.slice(0, i))); i--);
  }
}

function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false; // not empty (EBUSY), or already gone
  }
}
