/**
 * The daemon's memory under container churn: a fresh daemon of each side runs N × `ctr run --rm
 * busybox id true` one after another (1,000; 200 with --quick), then its main process's VmRSS is
 * read after 1 s and after 10 s idle (V8 shrinks its heap some seconds after work stops; Go's
 * scavenger returns memory on its own schedule too). Its open fds and mounts are checked flat.
 * bench/churn.ts runs the same loop alone, with heap snapshots, to find where memory goes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { ctr as ctrAt } from '../test/helpers/ctr';
import { BUSYBOX_REF, vmRssKiB } from './lib/containers';
import { type BenchEnv, type Launched, type Side, type Workload, sharedPerRound } from './lib/workload';
import { implemented } from './lib/grpc';

const NS = 'bench-churn';
const runs = (env: BenchEnv) => (env.quick ? 200 : 1000);
const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir)).length;

interface Churned {
  /** VmRSS (MiB) 1 s and 10 s after the last run. */
  after1s: number;
  after10s: number;
}

async function churn(side: Side, env: BenchEnv): Promise<Churned> {
  const d: Launched = await side.launch();
  try {
    const ctr = (args: string[]) => (d.ctr ? d.ctr(args, { namespace: NS, timeoutMs: 60000 }) : ctrAt(d.address, args, { namespace: NS, timeoutMs: 60000 }));
    const must = async (args: string[]) => {
      const r = await ctr(args);
      if (r.code !== 0) throw new Error(`${side.name}: ctr ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 300)}`);
    };
    await must(['images', 'import', (await env.images()).ociArchive]);
    await must(['run', '--rm', BUSYBOX_REF, 'churn-warm', 'true']);
    const fds0 = fdCount(d.pid);
    const n = runs(env);
    for (let i = 1; i <= n; i++) {
      await must(['run', '--rm', BUSYBOX_REF, `churn-${i}`, 'true']);
      if (i % 200 === 0) env.log(`${side.name}: ${i} runs, rss ${(vmRssKiB(d.pid) / 1024).toFixed(1)} MiB, fds ${fdCount(d.pid)}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const after1s = vmRssKiB(d.pid) / 1024;
    await new Promise((r) => setTimeout(r, 9000));
    const after10s = vmRssKiB(d.pid) / 1024;
    const fds = fdCount(d.pid);
    // A leak of fds or mounts would show here long before it shows in memory.
    if (fds > fds0 + 4) throw new Error(`${side.name}: open fds grew from ${fds0} to ${fds} over ${n} runs`);
    if (mountsUnder(d.dir)) throw new Error(`${side.name}: ${mountsUnder(d.dir)} mounts left under ${d.dir}`);
    env.log(`${side.name}: after ${n} runs rss ${after1s.toFixed(1)} MiB (1 s), ${after10s.toFixed(1)} MiB (10 s idle); fds ${fds0} -> ${fds}`);
    return { after1s, after10s };
  } finally {
    await d.stop();
  }
}

/** One churn per (side, round), shared by both rows. */
const churned = sharedPerRound(churn);

const common = {
  unit: 'MiB',
  better: 'lower' as const,
  rounds: 1,
  timeoutMs: 45 * 60_000,
  supported: (side: Side) => implemented(side.daemon.address, 'containerd.services.tasks.v1.Tasks', 'Create'),
};

export const rssAfterRuns: Workload = {
  ...common,
  name: 'rss-after-1000-runs',
  description: 'VmRSS of a fresh daemon 1 s after 1,000 × `ctr run --rm busybox id true` one after another (200 with --quick); fds and mounts checked flat',
  target: { text: '≤ 80 MiB (berth)', met: (b) => b.median <= 80 },
  sample: async (side, env, round) => (await churned(side, env, round)).after1s,
};

export const rssAfterRunsIdle: Workload = {
  ...common,
  name: 'rss-after-1000-runs-idle',
  description: 'the same daemon 10 s later, idle',
  sample: async (side, env, round) => (await churned(side, env, round)).after10s,
};
