/**
 * Issue 3, the small image: `ctr images pull --plain-http` of the ≈1 MB busybox image (one layer)
 * from the loopback registry, into each daemon, alternated. The image and its content are removed
 * (`images rm --sync`, `content rm`) after every sample, outside the timing. The 100 MB+ image is
 * bench/pull.workload.ts (pull-large).
 */
import { implemented } from './lib/grpc';
import { timeMs } from './lib/stats';
import { pushImage } from '../test/helpers/registry';
import type { BenchEnv, Side, Workload } from './lib/workload';

const NS = 'bench-pull-busybox';
const pushed = new WeakMap<BenchEnv, Promise<string>>();

function image(env: BenchEnv): Promise<string> {
  let p = pushed.get(env);
  if (!p) {
    p = (async () => {
      const { layoutDir, images } = await env.images();
      const bb = images.find((i) => i.refName.includes('busybox'));
      if (!bb) throw new Error('no busybox image in env.images()');
      return pushImage(await env.registry(), layoutDir, bb.refName, 'library/busybox:bench');
    })();
    pushed.set(env, p);
  }
  return p;
}

async function clean(side: Side, ref: string): Promise<void> {
  await side.ctr(['images', 'rm', '--sync', ref], { namespace: NS, timeoutMs: 60000 });
  const left = (await side.ctr(['content', 'ls', '-q'], { namespace: NS, timeoutMs: 30000 })).stdout.split('\n').filter(Boolean);
  if (left.length) await side.ctr(['content', 'rm', ...left], { namespace: NS, timeoutMs: 60000 });
}

export const pullBusybox: Workload = {
  name: 'pull-busybox',
  description: '`ctr images pull --plain-http` of the ≈1 MB busybox image (fetch + unpack) from the loopback registry',
  unit: 'ms',
  better: 'lower',
  target: { text: '≤ ½ containerd', met: (b, c) => b.median <= c.median / 2 },
  async supported(side) {
    for (const [svc, m] of [
      ['containerd.services.diff.v1.Diff', 'Apply'],
      ['containerd.services.snapshots.v1.Snapshots', 'Prepare'],
    ] as const) {
      const ok = await implemented(side.daemon.address, svc, m);
      if (ok !== true) return ok;
    }
    return true;
  },
  async setup(side, env) {
    await clean(side, await image(env));
  },
  async sample(side, env) {
    const ref = await image(env);
    const ms = await timeMs(async () => {
      const r = await side.ctr(['images', 'pull', '--plain-http', ref], { namespace: NS, timeoutMs: 60000 });
      if (r.code !== 0) throw new Error(`${side.name}: ctr images pull exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 300)}`);
    });
    await clean(side, ref);
    return ms;
  },
  async teardown(side, env) {
    await clean(side, await image(env));
  },
};
