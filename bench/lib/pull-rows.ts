/**
 * `ctr images pull --plain-http` rows (bench/pull*.workload.ts): one image, pushed once per run to
 * the loopback registry, pulled into berthd and into containerd alternately; after every sample
 * the image and any content left in the namespace are removed (`images rm --sync`, `content rm`)
 * and writeback is flushed (`sync`), outside the timing.
 */
import { ctr, run } from '../../test/helpers/ctr';
import { implemented } from './grpc';
import { timeMs } from './stats';
import type { BenchEnv, Launched, Side, SideName, Workload } from './workload';

/** Builds/pushes once per run (memoised per env), e.g. an image's reference. */
export function oncePerRun<T>(build: (env: BenchEnv) => Promise<T>): (env: BenchEnv) => Promise<T> {
  const pushed = new WeakMap<BenchEnv, Promise<T>>();
  return (env) => {
    let p = pushed.get(env);
    if (!p) pushed.set(env, (p = build(env)));
    return p;
  };
}

/** ctr against one daemon: a side's shared one, or a fresh one it launched. */
type Ctr = Side['ctr'];

function ctrOf(d: Launched): Ctr {
  return d.ctr ? d.ctr.bind(d) : (args, opts) => ctr(d.address, args, opts);
}

async function must(q: Ctr, name: SideName, ns: string, args: string[], timeoutMs = 300000): Promise<string> {
  const r = await q(args, { namespace: ns, timeoutMs });
  if (r.code !== 0) throw new Error(`${name}: ctr ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 300)}`);
  return r.stdout;
}

/** ctr pull prints `elapsed: 1.2 s` after the fetch and `done: 812.3ms` after the unpack. */
export function pullPhases(stdout: string): string {
  // eslint-disable-next-line no-control-regex -- ANSI escapes in ctr's progress output
  const plain = stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  const fetched = [...plain.matchAll(/elapsed: ([0-9.]+ ?m?s)/g)].pop()?.[1];
  const unpacked = plain.match(/done: ([0-9.]+(?:ms|s|µs))/)?.[1];
  return `fetch ${fetched ?? '?'}, unpack ${unpacked ?? '?'}`;
}

/** Removes the image and any content left in the namespace (synchronously collected), then flushes writeback. */
export async function cleanPull(q: Ctr, ns: string, ref: string): Promise<void> {
  await q(['images', 'rm', '--sync', ref], { namespace: ns, timeoutMs: 120000 });
  const left = (await q(['content', 'ls', '-q'], { namespace: ns, timeoutMs: 30000 })).stdout.split('\n').filter(Boolean);
  if (left.length) await q(['content', 'rm', ...left], { namespace: ns, timeoutMs: 60000 });
  await run('sync', [], { timeoutMs: 120000 });
}

export async function pullSupported(side: Side): Promise<true | string> {
  for (const [svc, m] of [
    ['containerd.services.diff.v1.Diff', 'Apply'],
    ['containerd.services.snapshots.v1.Snapshots', 'Prepare'],
  ] as const) {
    const ok = await implemented(side.daemon.address, svc, m);
    if (ok !== true) return ok;
  }
  return true;
}

export interface PullRowOptions {
  name: string;
  description: string;
  /** The pushed reference (build it with oncePerRun). */
  image: (env: BenchEnv) => Promise<string>;
  /** `content fetch` only (no unpack): no target. */
  fetchOnly?: boolean;
  /** Rounds of this row (default: the harness's --rounds). */
  rounds?: number;
  /**
   * Run against fresh daemons of each side with their dirs here (e.g. bench/lib/scratch-fs.ts's
   * journaled ext4) instead of the shared ones.
   */
  under?: (env: BenchEnv) => Promise<string>;
}

export function pullRow(o: PullRowOptions): Workload {
  const ns = `bench-${o.name}`;
  const fresh = new Map<SideName, Launched>();
  const q = (side: Side): Ctr => {
    const d = fresh.get(side.name);
    return d ? ctrOf(d) : side.ctr;
  };
  return {
    name: o.name,
    description: o.description,
    unit: 'ms',
    better: 'lower',
    ...(o.rounds ? { rounds: o.rounds } : {}),
    timeoutMs: 300000,
    ...(o.fetchOnly ? {} : { target: { text: '≤ ½ containerd', met: (b, c) => b.median <= c.median / 2 } }),
    supported: pullSupported,
    async setup(side, env) {
      if (o.under) fresh.set(side.name, await side.launch({ under: await o.under(env) }));
      await cleanPull(q(side), ns, await o.image(env));
    },
    async sample(side, env) {
      const ref = await o.image(env);
      let out = '';
      const args = o.fetchOnly ? ['content', 'fetch', '--plain-http', ref] : ['images', 'pull', '--plain-http', ref];
      const ms = await timeMs(async () => {
        out = await must(q(side), side.name, ns, args);
      });
      if (!o.fetchOnly) env.log(`${o.name}: ${side.name}: ${Math.round(ms)} ms (${pullPhases(out)})`);
      await cleanPull(q(side), ns, ref);
      return ms;
    },
    async teardown(side, env) {
      try {
        await cleanPull(q(side), ns, await o.image(env));
      } finally {
        await fresh.get(side.name)?.stop();
        fresh.delete(side.name);
      }
    },
  };
}
