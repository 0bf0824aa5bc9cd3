/**
 * `ctr images pull --plain-http` rows (bench/pull*.workload.ts): one image, pushed once per run to
 * the loopback registry, pulled into berthd and into containerd alternately; after every sample
 * the image and any content left in the namespace are removed (`images rm --sync`, `content rm`)
 * and writeback is flushed (`sync`), outside the timing.
 */
import { run } from '../../test/helpers/ctr';
import { implemented } from './grpc';
import { timeMs } from './stats';
import type { BenchEnv, Side, Workload } from './workload';

/** Builds/pushes once per run (memoised per env), e.g. an image's reference. */
export function oncePerRun<T>(build: (env: BenchEnv) => Promise<T>): (env: BenchEnv) => Promise<T> {
  const pushed = new WeakMap<BenchEnv, Promise<T>>();
  return (env) => {
    let p = pushed.get(env);
    if (!p) pushed.set(env, (p = build(env)));
    return p;
  };
}

async function must(side: Side, ns: string, args: string[], timeoutMs = 300000): Promise<string> {
  const r = await side.ctr(args, { namespace: ns, timeoutMs });
  if (r.code !== 0) throw new Error(`${side.name}: ctr ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 300)}`);
  return r.stdout;
}

/** ctr pull prints `elapsed: 1.2 s` after the fetch and `done: 812.3ms` after the unpack. */
export function pullPhases(stdout: string): string {
  const plain = stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  const fetched = [...plain.matchAll(/elapsed: ([0-9.]+ ?m?s)/g)].pop()?.[1];
  const unpacked = plain.match(/done: ([0-9.]+(?:ms|s|µs))/)?.[1];
  return `fetch ${fetched ?? '?'}, unpack ${unpacked ?? '?'}`;
}

/** Removes the image and any content left in the namespace (synchronously collected), then flushes writeback. */
export async function cleanPull(side: Side, ns: string, ref: string): Promise<void> {
  await side.ctr(['images', 'rm', '--sync', ref], { namespace: ns, timeoutMs: 120000 });
  const left = (await side.ctr(['content', 'ls', '-q'], { namespace: ns, timeoutMs: 30000 })).stdout.split('\n').filter(Boolean);
  if (left.length) await side.ctr(['content', 'rm', ...left], { namespace: ns, timeoutMs: 60000 });
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
  rounds?: number;
}

export function pullRow(o: PullRowOptions): Workload {
  const ns = `bench-${o.name}`;
  return {
    name: o.name,
    description: o.description,
    unit: 'ms',
    better: 'lower',
    rounds: o.rounds ?? 3,
    timeoutMs: 300000,
    ...(o.fetchOnly ? {} : { target: { text: '≤ ½ containerd', met: (b, c) => b.median <= c.median / 2 } }),
    supported: pullSupported,
    async setup(side, env) {
      await cleanPull(side, ns, await o.image(env));
    },
    async sample(side, env) {
      const ref = await o.image(env);
      let out = '';
      const args = o.fetchOnly ? ['content', 'fetch', '--plain-http', ref] : ['images', 'pull', '--plain-http', ref];
      const ms = await timeMs(async () => {
        out = await must(side, ns, args);
      });
      if (!o.fetchOnly) env.log(`${o.name}: ${side.name}: ${Math.round(ms)} ms (${pullPhases(out)})`);
      await cleanPull(side, ns, ref);
      return ms;
    },
    async teardown(side, env) {
      await cleanPull(side, ns, await o.image(env));
    },
  };
}
