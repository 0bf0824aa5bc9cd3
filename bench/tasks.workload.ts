/**
 * Containers through the real ctr (issue 5): `ctr run --rm IMG id true` latency, `ctr task exec`
 * latency on a running container, and 100 detached starts (time to all running, then what each
 * running container costs: its monitor's / shim's RSS, and the system-wide MemAvailable drop).
 * berthd runs them with berth-helper; the private containerd 1.6 with runc (crun refuses this
 * hybrid-cgroup host). The same measurements as the standalone bench/run-latency.ts, in the table.
 */
import { performance } from 'node:perf_hooks';
import {
  busybox,
  containersWithPrefix,
  memAvailableSteadyKiB,
  must,
  parentPid,
  pssKiB,
  removeContainers,
  removeRuncNamespaceDir,
  runningTaskPids,
  vmRssKiB,
} from './lib/containers';
import { implemented } from './lib/grpc';
import { timeMs } from './lib/stats';
import { type BenchEnv, type Side, type Workload, sharedPerRound } from './lib/workload';

const tasksSupported =
  (method: string) =>
  async (side: Side): Promise<true | string> =>
    implemented(side.daemon.address, 'containerd.services.tasks.v1.Tasks', method);

/** Per sample: this many runs (each a sample), so 5 rounds give 20 per side. */
const RUNS_PER_SAMPLE = 4;

/** `ctr run --rm [flags] busybox id true`, RUNS_PER_SAMPLE runs per sample. */
function runRmWorkload(name: string, description: string, flags: string[], target?: Workload['target']): Workload {
  const prefix = `${name}-`;
  return {
    name,
    description,
    unit: 'ms',
    better: 'lower',
    target,
    supported: tasksSupported('Create'),
    async setup(side, env) {
      const img = await busybox(side, env);
      await must(side, ['run', '--rm', ...flags, img, `${prefix}warm`, 'true']); // first run pays the unpack (and the seccomp compile)
    },
    async sample(side, env, round) {
      const img = await busybox(side, env);
      const out: number[] = [];
      for (let k = 0; k < (env.quick ? 2 : RUNS_PER_SAMPLE); k++)
        out.push(await timeMs(() => must(side, ['run', '--rm', ...flags, img, `${prefix}${round}-${k}`, 'true'])));
      return out;
    },
    async teardown(side) {
      await removeContainers(side, await containersWithPrefix(side, prefix));
      await removeRuncNamespaceDir(side);
    },
  };
}

export const runRm = runRmWorkload(
  'run-rm',
  '`ctr run --rm busybox id true` wall time (create, start, wait, delete); berth-helper vs containerd-shim + runc',
  [],
  { text: '≤ ½ containerd+runc', met: (b, c) => b.median <= c.median / 2 },
);

export const runRmSeccomp = runRmWorkload(
  'run-rm-seccomp',
  "`ctr run --rm --seccomp busybox id true`: containerd's default profile; berthd compiles it once and the helper loads the program, runc builds it with libseccomp at every start",
  ['--seccomp'],
);

const EXEC_HOST = 'exec-host';

export const execLatency: Workload = {
  name: 'exec',
  description: '`ctr task exec --exec-id X host true` wall time on a running busybox container',
  unit: 'ms',
  better: 'lower',
  supported: tasksSupported('Exec'),
  async setup(side, env) {
    await removeContainers(side, [EXEC_HOST]);
    await must(side, ['run', '-d', await busybox(side, env), EXEC_HOST, 'sleep', '100000']);
    await must(side, ['task', 'exec', '--exec-id', 'warm', EXEC_HOST, 'true']);
  },
  async sample(side, env, round) {
    const out: number[] = [];
    for (let k = 0; k < (env.quick ? 2 : RUNS_PER_SAMPLE); k++)
      out.push(await timeMs(() => must(side, ['task', 'exec', '--exec-id', `e${round}-${k}`, EXEC_HOST, 'true'])));
    return out;
  },
  async teardown(side) {
    await removeContainers(side, [EXEC_HOST]);
    await removeRuncNamespaceDir(side);
  },
};

interface Detached {
  totalMs: number;
  /** VmRSS (KiB) of each distinct parent of a container init: berth's monitor, containerd's shim. */
  monitorRssKiB: number[];
  /** Pss of monitor/shim + container init, summed, per container (shared pages counted once). */
  pssKiBPerContainer: number;
  memAvailableDropKiBPerContainer: number;
}

const DETACHED_ROUNDS = 2;
const detachedN = (env: BenchEnv) => (env.quick ? 20 : 100);

/** Starts N detached `sleep` containers one after another, measures, removes them. */
async function startDetached(side: Side, env: BenchEnv, round: number): Promise<Detached> {
  const img = await busybox(side, env);
  const n = detachedN(env);
  const prefix = `d${round}-`;
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  try {
    const mem0 = await memAvailableSteadyKiB();
    const t0 = performance.now();
    // `ctr run -d` returns once the task is started: the last return is "all running".
    for (const id of ids) await must(side, ['run', '-d', img, id, 'sleep', '100000']);
    const totalMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1000)); // let lazily-touched memory settle
    const pids = await runningTaskPids(side, prefix);
    if (pids.length !== n) throw new Error(`${side.name}: ${pids.length} of ${n} detached containers RUNNING`);
    const parents = new Set(pids.map(parentPid).filter((p): p is number => p !== undefined));
    const monitorRssKiB = [...parents].map(vmRssKiB).filter((v) => Number.isFinite(v));
    const pss = [...parents, ...pids].map(pssKiB).filter((v) => Number.isFinite(v));
    // Includes what the daemon itself grew by while tracking n more tasks: that is a per-container cost too.
    const memAvailableDropKiBPerContainer = (mem0 - (await memAvailableSteadyKiB())) / n;
    return { totalMs, monitorRssKiB, pssKiBPerContainer: pss.reduce((a, b) => a + b, 0) / n, memAvailableDropKiBPerContainer };
  } finally {
    await removeContainers(side, ids);
  }
}

/** One experiment per (side, round), shared by the four detached rows. */
const detached = sharedPerRound(startDetached);

const detachedCommon = {
  better: 'lower' as const,
  rounds: DETACHED_ROUNDS,
  timeoutMs: 300000,
  supported: tasksSupported('Create'),
  async teardown(side: Side) {
    await removeContainers(side, await containersWithPrefix(side, 'd'));
    await removeRuncNamespaceDir(side);
  },
};

export const detachedStart: Workload = {
  ...detachedCommon,
  name: 'detached-100',
  description: '100 × `ctr run -d busybox id sleep` one after another: time until the last is running (20 with --quick)',
  unit: 'ms',
  sample: async (side, env, round) => (await detached(side, env, round)).totalMs,
};

export const detachedMonitorRss: Workload = {
  ...detachedCommon,
  name: 'detached-monitor-rss',
  description: "VmRSS of each running container's monitor (berth-helper) / shim (containerd-shim-runc-v2), 100 detached",
  unit: 'KiB',
  target: { text: '< 1 MiB (berth)', met: (b) => b.median < 1024 },
  sample: async (side, env, round) => (await detached(side, env, round)).monitorRssKiB,
};

export const detachedPss: Workload = {
  ...detachedCommon,
  name: 'detached-pss-per-ctr',
  description: 'Pss (smaps_rollup) of monitor/shim + container process per running container, 100 detached: shared pages split, unaffected by other load',
  unit: 'KiB',
  sample: async (side, env, round) => (await detached(side, env, round)).pssKiBPerContainer,
};

export const detachedMemAvailable: Workload = {
  ...detachedCommon,
  name: 'detached-mem-per-ctr',
  description: 'system-wide MemAvailable drop per running container (incl. daemon growth), 100 detached; noisy while others use the machine',
  unit: 'KiB',
  sample: async (side, env, round) => (await detached(side, env, round)).memAvailableDropKiBPerContainer,
};
