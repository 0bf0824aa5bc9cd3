/**
 * Idle resident memory of a fresh daemon (main process only, no shims), read twice from one
 * launch: 1 s after its first answers, and 10 s after them, settled. The second is what an idle
 * daemon keeps: V8's memory reducer gives back the young generation start-up grew some 8 s after
 * the last full collection (Go's scavenger returns memory on its own schedule too).
 */
import { readFile } from 'node:fs/promises';
import { type BenchEnv, type Side, type Workload, sharedPerRound } from '../workload';
import { client, unary } from '../grpc';

export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

interface Idle {
  after1s: number;
  settled: number;
}

async function idle(side: Side, env: BenchEnv): Promise<Idle> {
  const d = await side.launch();
  try {
    // berthd answers Version before it has opened its stores (src/daemon/main.ts): a call that
    // needs them returns once start-up is complete, so the sample is of a daemon fully up.
    const c = client(d.address, 'containerd.services.namespaces.v1.Namespaces');
    try {
      await unary(c, 'List', {});
    } finally {
      c.close();
    }
    const t0 = Date.now();
    const at = async (ms: number) => {
      await new Promise((r) => setTimeout(r, t0 + ms - Date.now()));
      return rssMiB(d.pid);
    };
    const after1s = await at(env.quick ? 300 : 1000);
    return { after1s, settled: await at(env.quick ? 3000 : 10000) };
  } finally {
    await d.stop();
  }
}

/** One launch per (side, round), shared by both rows. */
const idled = sharedPerRound(idle);

const common = { unit: 'MiB', better: 'lower' as const };

export const idleRssWorkload: Workload = {
  name: 'idle-rss',
  description: 'idle RSS of a fresh daemon, 1 s after it answered its first Version and Namespaces/List RPCs',
  ...common,
  sample: async (side, env, round) => (await idled(side, env, round)).after1s,
};

export const idleRssSettledWorkload: Workload = {
  name: 'idle-rss-settled',
  description: 'the same daemon 10 s after those answers (3 s with --quick), idle all along',
  ...common,
  sample: async (side, env, round) => (await idled(side, env, round)).settled,
};
