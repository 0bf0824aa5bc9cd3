/**
 * cgroup statistics → containerd's `io.containerd.cgroups.v1.Metrics` (or `.v2.Metrics`) as a
 * plain object for packAny. uint64 values stay decimal strings (limits exceed 2^53). ctr
 * dereferences memory.usage and cpu.usage whenever memory/cpu are present: both are always set.
 */
import { join } from 'node:path';
import { readText, type CgroupDirs } from './cgroup';
import type { TaskMetric } from './types';

const U64 = /^\d+$/;
const num = (s: string | undefined): string => (s !== undefined && U64.test(s) ? s : '0');
/** `max` (no limit) is reported as 0, like containerd's cgroups library. */
const limit = (s: string | undefined): string => (s === 'max' ? '0' : num(s));

function kv(text: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) m.set(k, v);
  }
  return m;
}

/** memory.stat keys whose proto names differ (pgpgin → pg_pg_in, …). */
const MEMORY_RENAMES: Record<string, string> = { pgpgin: 'pg_pg_in', pgpgout: 'pg_pg_out', pgfault: 'pg_fault', pgmajfault: 'pg_maj_fault' };
const MEMORY_FIELDS = new Set([
  'cache',
  'rss',
  'rss_huge',
  'mapped_file',
  'dirty',
  'writeback',
  'pg_pg_in',
  'pg_pg_out',
  'pg_fault',
  'pg_maj_fault',
  'inactive_anon',
  'active_anon',
  'inactive_file',
  'active_file',
  'unevictable',
  'hierarchical_memory_limit',
  'hierarchical_swap_limit',
]);

async function v1(dirs: CgroupDirs): Promise<Record<string, unknown>> {
  const f = (ctrl: string, file: string) => readText(dirs.get(ctrl) && join(dirs.get(ctrl)!, file));
  const [pidsCur, pidsMax, usage, perCpu, cpuStat, throttle, memUsage, memLimit, memMax, memFail, memStat, swUsage, swLimit, swMax, swFail] = await Promise.all(
    [
      f('pids', 'pids.current'),
      f('pids', 'pids.max'),
      f('cpuacct', 'cpuacct.usage'),
      f('cpuacct', 'cpuacct.usage_percpu'),
      f('cpuacct', 'cpuacct.stat'),
      f('cpu', 'cpu.stat'),
      f('memory', 'memory.usage_in_bytes'),
      f('memory', 'memory.limit_in_bytes'),
      f('memory', 'memory.max_usage_in_bytes'),
      f('memory', 'memory.failcnt'),
      f('memory', 'memory.stat'),
      f('memory', 'memory.memsw.usage_in_bytes'),
      f('memory', 'memory.memsw.limit_in_bytes'),
      f('memory', 'memory.memsw.max_usage_in_bytes'),
      f('memory', 'memory.memsw.failcnt'),
    ],
  );
  // cpuacct.stat is in USER_HZ (100/s on Linux): 10 ms per tick.
  const ticks = kv(cpuStat);
  const ns = (k: string) => String(BigInt(num(ticks.get(k))) * 10_000_000n);
  const thr = kv(throttle);
  const memory: Record<string, unknown> = {
    usage: { usage: num(memUsage), limit: num(memLimit), max: num(memMax), failcnt: num(memFail) },
    swap: { usage: num(swUsage), limit: num(swLimit), max: num(swMax), failcnt: num(swFail) },
  };
  for (const [k, v] of kv(memStat)) {
    const base = k.startsWith('total_') ? k.slice(6) : k;
    const name = MEMORY_RENAMES[base] ?? base;
    if (!MEMORY_FIELDS.has(name)) continue;
    memory[k.startsWith('total_') ? `total_${name}` : name] = num(v);
  }
  return {
    pids: { current: num(pidsCur), limit: limit(pidsMax) },
    cpu: {
      usage: { total: num(usage), kernel: ns('system'), user: ns('user'), per_cpu: (perCpu ?? '').split(/\s+/).filter((s) => U64.test(s)) },
      throttling: { periods: num(thr.get('nr_periods')), throttled_periods: num(thr.get('nr_throttled')), throttled_time: num(thr.get('throttled_time')) },
    },
    memory,
  };
}

/** MemoryStat fields that memory.stat reports under the same name. */
const V2_MEMORY_FIELDS = [
  'anon',
  'file',
  'kernel_stack',
  'slab',
  'sock',
  'shmem',
  'file_mapped',
  'file_dirty',
  'file_writeback',
  'anon_thp',
  'inactive_anon',
  'active_anon',
  'inactive_file',
  'active_file',
  'unevictable',
  'slab_reclaimable',
  'slab_unreclaimable',
  'pgfault',
  'pgmajfault',
  'workingset_refault',
  'workingset_activate',
  'workingset_nodereclaim',
  'pgrefill',
  'pgscan',
  'pgsteal',
  'pgactivate',
  'pgdeactivate',
  'pglazyfree',
  'pglazyfreed',
  'thp_fault_alloc',
  'thp_collapse_alloc',
];

/** memory.stat value; Linux 5.9 split workingset_* into _anon and _file, which add up to the old key. */
function memStat(mem: Map<string, string>, key: string): string {
  if (mem.has(key) || !mem.has(`${key}_anon`)) return num(mem.get(key));
  return String(BigInt(num(mem.get(`${key}_anon`))) + BigInt(num(mem.get(`${key}_file`))));
}

/** io.stat: `MAJ:MIN rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…` per device. */
function ioUsage(text: string | undefined): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const f = new Map(kv.map((p) => p.split('=') as [string, string]));
    out.push({ major: m[1]!, minor: m[2]!, rbytes: num(f.get('rbytes')), wbytes: num(f.get('wbytes')), rios: num(f.get('rios')), wios: num(f.get('wios')) });
  }
  return out;
}

async function v2(dir: string): Promise<Record<string, unknown>> {
  const f = (file: string) => readText(join(dir, file));
  const [pidsCur, pidsMax, cpuStat, memCur, memMax, memStatText, swapCur, swapMax, memEvents, ioStat] = await Promise.all([
    f('pids.current'),
    f('pids.max'),
    f('cpu.stat'),
    f('memory.current'),
    f('memory.max'),
    f('memory.stat'),
    f('memory.swap.current'),
    f('memory.swap.max'),
    f('memory.events'),
    f('io.stat'),
  ]);
  const cpu = kv(cpuStat);
  const mem = kv(memStatText);
  const events = kv(memEvents);
  const memory: Record<string, string> = {};
  for (const k of V2_MEMORY_FIELDS) memory[k] = memStat(mem, k);
  Object.assign(memory, { usage: num(memCur), usage_limit: limit(memMax), swap_usage: num(swapCur), swap_limit: limit(swapMax) });
  return {
    pids: { current: num(pidsCur), limit: limit(pidsMax) },
    cpu: {
      usage_usec: num(cpu.get('usage_usec')),
      user_usec: num(cpu.get('user_usec')),
      system_usec: num(cpu.get('system_usec')),
      nr_periods: num(cpu.get('nr_periods')),
      nr_throttled: num(cpu.get('nr_throttled')),
      throttled_usec: num(cpu.get('throttled_usec')),
    },
    memory,
    memory_events: {
      low: num(events.get('low')),
      high: num(events.get('high')),
      max: num(events.get('max')),
      oom: num(events.get('oom')),
      oom_kill: num(events.get('oom_kill')),
    },
    io: { usage: ioUsage(ioStat) },
  };
}

export async function cgroupMetrics(id: string, dirs: CgroupDirs): Promise<TaskMetric> {
  const unified = dirs.get('');
  return unified !== undefined
    ? { id, timestamp: new Date(), typeName: 'io.containerd.cgroups.v2.Metrics', data: await v2(unified) }
    : { id, timestamp: new Date(), typeName: 'io.containerd.cgroups.v1.Metrics', data: await v1(dirs) };
}
