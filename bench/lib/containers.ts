/**
 * Shared by the container workloads (run --rm, exec, detached): the busybox image imported once per
 * side into one namespace, ctr calls that throw on failure, and the memory readings (/proc).
 */
import { readFileSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import type { BenchEnv, Side } from './workload';

/** One namespace for every container workload: the image is imported into it once per side. */
export const TASKS_NS = 'bench-tasks';
/** The name test/helpers/images.ts gives busybox in env.images()'s archive. */
export const BUSYBOX_REF = 'docker.io/library/busybox:latest';

export async function must(side: Side, args: string[], opts: { namespace?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await side.ctr(args, { namespace: opts.namespace ?? TASKS_NS, timeoutMs: opts.timeoutMs ?? 60000 });
  if (r.code !== 0) throw new Error(`${side.name}: ctr ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 300)}`);
  return r.stdout;
}

const imported = new WeakMap<BenchEnv, Map<string, Promise<void>>>();

/** `ctr images import` of the run's busybox archive into TASKS_NS on this side (once per run). */
export function busybox(side: Side, env: BenchEnv): Promise<string> {
  let m = imported.get(env);
  if (!m) imported.set(env, (m = new Map()));
  let p = m.get(side.name);
  if (!p) {
    p = (async () => {
      const { ociArchive } = await env.images();
      await must(side, ['images', 'import', ociArchive], { timeoutMs: 120000 });
    })();
    p.catch(() => m!.delete(side.name));
    m.set(side.name, p);
  }
  return p.then(() => BUSYBOX_REF);
}

/** Kills and removes the given containers (tasks first), `parallel` ctr calls at a time; never throws. */
export async function removeContainers(side: Side, ids: string[], parallel = 4): Promise<void> {
  const queue = [...ids];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      await side.ctr(['tasks', 'rm', '-f', id], { namespace: TASKS_NS, timeoutMs: 30000 }).catch(() => undefined);
      await side.ctr(['containers', 'rm', id], { namespace: TASKS_NS, timeoutMs: 30000 }).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Ids of the containers in TASKS_NS whose id starts with prefix (what a failed sample left). */
export async function containersWithPrefix(side: Side, prefix: string): Promise<string[]> {
  const r = await side.ctr(['containers', 'ls', '-q'], { namespace: TASKS_NS, timeoutMs: 30000 });
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((id) => id.startsWith(prefix));
}

export const memAvailableKiB = (): number => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);

/** Median of `n` MemAvailable readings `gapMs` apart: damps a colleague's short allocation spike. */
export async function memAvailableSteadyKiB(n = 5, gapMs = 200): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i) await new Promise((r) => setTimeout(r, gapMs));
    xs.push(memAvailableKiB());
  }
  return xs.sort((a, b) => a - b)[n >> 1]!;
}

/** Proportional set size (KiB): shared pages split among their users, so a sum over processes adds up. */
export function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

export function vmRssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** PIDs of the RUNNING tasks in TASKS_NS with the given id prefix (`ctr tasks ls`: TASK PID STATUS). */
export async function runningTaskPids(side: Side, prefix: string): Promise<number[]> {
  const out = await must(side, ['tasks', 'ls']);
  return out
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter(([id, pid, status]) => id?.startsWith(prefix) && status === 'RUNNING' && Number(pid) > 0)
    .map(([, pid]) => Number(pid));
}

/**
 * containerd's runc keeps per-namespace state under the host-wide /run/containerd/runc/<ns>; once
 * our namespace has no containers the dir is empty and removed (rmdir: never a non-empty one).
 */
export async function removeRuncNamespaceDir(side: Side): Promise<void> {
  if (side.name === 'containerd') await rmdir(`/run/containerd/runc/${TASKS_NS}`).catch(() => undefined);
}
