/**
 * Issue 3: `ctr images pull --plain-http` of a 100 MB+ multi-layer image (generated, with whiteouts
 * and an opaque dir: test/helpers/large-image.ts) from the loopback registry, into berthd and into
 * containerd, alternated; the image is removed (`images rm --sync`) and writeback flushed (`sync`)
 * after every sample, outside the timing.
 *
 * Where the time goes: ctr does the registry fetch itself and streams each blob to the daemon
 * (Content/Write); the daemon then applies each layer (Diff/Apply: sha256 verify, gunzip, tar
 * extraction into the overlay upper dir). `pull-large-fetch` times `ctr content fetch` of the same
 * image (the fetch + Content/Write part only), so pull − fetch ≈ the unpack (Apply + snapshots).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../test/helpers/ctr';
import { largeImage } from '../test/helpers/large-image';
import { writeOciImage } from '../test/helpers/oci';
import { pushImage } from '../test/helpers/registry';
import { implemented } from './lib/grpc';
import { timeMs } from './lib/stats';
import type { BenchEnv, Side, Workload } from './lib/workload';

const NS = 'bench-pull';
const pushed = new WeakMap<BenchEnv, Promise<string>>();

/** Builds and pushes the image once per run; returns its reference. */
function image(env: BenchEnv): Promise<string> {
  let p = pushed.get(env);
  if (!p) {
    p = (async () => {
      const layout = join(env.workDir, 'pull-large');
      // 176 MiB of payload, half incompressible: ≈110 MB of gzip layers (≈35 MB with --quick).
      const spec = largeImage({ name: 'docker.io/library/large:bench', totalMiB: env.quick ? 48 : 176, dataLayers: 4, filesPerLayer: 200 });
      const img = await writeOciImage(layout, spec);
      const registry = await env.registry();
      const ref = await pushImage(registry, layout, img.refName, 'library/large:bench', { timeoutMs: 300000 });
      const mb = (n: number) => (n / 1e6).toFixed(1);
      env.log(
        `pull-large: ${ref}, ${img.layers.length} layers, ${mb(img.layers.reduce((a, l) => a + l.size, 0))} MB compressed, ` +
          `${mb(img.layers.reduce((a, l) => a + l.uncompressedSize, 0))} MB uncompressed`,
      );
      await rm(layout, { recursive: true, force: true });
      return ref;
    })();
    pushed.set(env, p);
  }
  return p;
}

async function must(side: Side, args: string[], timeoutMs = 300000): Promise<string> {
  const r = await side.ctr(args, { namespace: NS, timeoutMs });
  if (r.code !== 0) throw new Error(`${side.name}: ctr ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}

/** ctr pull prints `elapsed: 1.2 s` after the fetch and `done: 812.3ms` after the unpack. */
function pullPhases(stdout: string): string {
  // eslint-disable-next-line no-control-regex -- ANSI escapes in ctr's progress output
  const plain = stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  const fetched = [...plain.matchAll(/elapsed: ([0-9.]+ ?m?s)/g)].pop()?.[1];
  const unpacked = plain.match(/done: ([0-9.]+(?:ms|s|µs))/)?.[1];
  return `fetch ${fetched ?? '?'}, unpack ${unpacked ?? '?'}`;
}

/** Removes the image and any content left in the namespace (synchronously collected), then flushes writeback. */
async function clean(side: Side, ref: string): Promise<void> {
  await side.ctr(['images', 'rm', '--sync', ref], { namespace: NS, timeoutMs: 120000 });
  const left = (await side.ctr(['content', 'ls', '-q'], { namespace: NS, timeoutMs: 30000 })).stdout.split('\n').filter(Boolean);
  if (left.length) await side.ctr(['content', 'rm', ...left], { namespace: NS, timeoutMs: 60000 });
  await run('sync', [], { timeoutMs: 120000 });
}

const supported = async (side: Side): Promise<true | string> => {
  for (const [svc, m] of [
    ['containerd.services.diff.v1.Diff', 'Apply'],
    ['containerd.services.snapshots.v1.Snapshots', 'Prepare'],
  ] as const) {
    const ok = await implemented(side.daemon.address, svc, m);
    if (ok !== true) return ok;
  }
  return true;
};

export const pullLarge: Workload = {
  name: 'pull-large',
  description: '`ctr images pull --plain-http` of a 100 MB+ 6-layer image (whiteouts, opaque dir) from the loopback registry',
  unit: 'ms',
  better: 'lower',
  rounds: 3,
  timeoutMs: 300000,
  target: { text: '≤ ½ containerd', met: (b, c) => b.median <= c.median / 2 },
  supported,
  async setup(side, env) {
    await clean(side, await image(env));
  },
  async sample(side, env) {
    const ref = await image(env);
    let out = '';
    const ms = await timeMs(async () => {
      out = await must(side, ['images', 'pull', '--plain-http', ref]);
    });
    env.log(`pull-large: ${side.name}: ${Math.round(ms)} ms (${pullPhases(out)})`);
    await clean(side, ref);
    return ms;
  },
  async teardown(side, env) {
    await clean(side, await image(env));
  },
};

export const pullLargeFetch: Workload = {
  name: 'pull-large-fetch',
  description: 'the fetch part of pull-large alone: `ctr content fetch --plain-http` (registry → Content/Write, no unpack)',
  unit: 'ms',
  better: 'lower',
  rounds: 3,
  timeoutMs: 300000,
  supported,
  async setup(side, env) {
    await clean(side, await image(env));
  },
  async sample(side, env) {
    const ref = await image(env);
    const ms = await timeMs(() => must(side, ['content', 'fetch', '--plain-http', ref]));
    await clean(side, ref);
    return ms;
  },
  async teardown(side, env) {
    await clean(side, await image(env));
  },
};
