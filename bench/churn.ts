/**
 * berthd's memory under container churn: N × `ctr run --rm busybox id true` against a fresh
 * berthd, printing its RSS, V8 heap (from a heap snapshot's totals, when asked), open fds and
 * mounts every `every` runs, and writing V8 heap snapshots at the given counts (diff two in
 * Chrome DevTools' Comparison view to see what grew). The `rss-after-1000-runs` row measures the
 * same thing side by side with containerd; this script is for finding where memory goes.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/churn.js [--runs 1000] [--every 100]
 *       [--snapshots 200,1000] [--flags "--max-semi-space-size=1"] [--out DIR] [--bin dist/daemon/bin.js]
 *
 * Needs root and /usr/bin/ctr. --flags are added to berthd's node flags (--base-flags, default
 * node-flags.ts's); a V8 flag set other than the one the build made the bundle's code cache with
 * makes V8 refuse the cache (start-up numbers then do not apply; --bin can point at a copy).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ctr } from '../test/helpers/ctr';
import { buildImages, busyboxImage } from '../test/helpers/images';
import { unmountUnder } from '../test/helpers/mounts';
import { BERTHD_NODE_FLAGS } from '../src/daemon/node-flags';
import { BERTHD_BIN, berthdEnv } from './lib/paths';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    every: { type: 'string', default: '100' },
    snapshots: { type: 'string', default: '' },
    flags: { type: 'string', default: '' },
    'base-flags': { type: 'string', default: BERTHD_NODE_FLAGS.join(' ') },
    out: { type: 'string' },
    bin: { type: 'string', default: BERTHD_BIN },
  },
});
const RUNS = Number(values.runs);
const EVERY = Number(values.every);
const SNAPSHOTS = new Set(values.snapshots ? values.snapshots.split(',').map(Number) : []);
const NS = 'churn';
const SETTLE_S = [1, 5, 10, 20, 30];

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const mounts = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir)).length;

async function snapshot(pid: number, dir: string, label: number): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2'); // --heapsnapshot-signal
  for (let i = 0; i < 600; i++) {
    const made = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (made) {
      // Written once the size stops changing.
      let last = -1;
      for (;;) {
        await new Promise((r) => setTimeout(r, 500));
        const size = readFileSync(join(dir, made)).length;
        if (size === last) break;
        last = size;
      }
      process.stdout.write(`  snapshot after ${label} runs: ${join(dir, made)}\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no heap snapshot written');
}

async function main(): Promise<void> {
  if (!existsSync(values.bin)) throw new Error(`${values.bin} missing: npm run build`);
  const dir = await mkdtemp(join(tmpdir(), 'berth-churn-'));
  // Snapshots outlive the run (the daemon's dir does not).
  const out = values.out ?? (SNAPSHOTS.size ? await mkdtemp(join(tmpdir(), 'berth-churn-snapshots-')) : dir);
  await mkdir(out, { recursive: true });
  const address = join(dir, 'berthd.sock');
  const flags = [...values['base-flags'].split(' '), ...values.flags.split(' ')].filter(Boolean).concat('--heapsnapshot-signal=SIGUSR2');
  const child = spawn(
    process.execPath,
    [...flags, values.bin, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address, '--log-level', 'warn'],
    // The environment's own MALLOC_* variables win: --flags-like experiments set them there.
    { cwd: out, stdio: ['ignore', 'ignore', 'inherit'], env: berthdEnv() },
  );
  try {
    while (!existsSync(address)) await new Promise((r) => setTimeout(r, 20));
    const { ociArchive } = await buildImages(join(dir, 'images'), [busyboxImage()]);
    const must = async (args: string[]) => {
      const r = await ctr(address, args, { namespace: NS, timeoutMs: 60000 });
      if (r.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${r.stderr}`);
    };
    await must(['images', 'import', ociArchive]);
    process.stdout.write(`berthd pid ${child.pid}, flags ${flags.join(' ')}\nruns  rss MiB  fds  mounts  ms/run\n`);
    const report = (n: number, ms: number) =>
      process.stdout.write(
        `${String(n).padStart(4)}  ${rssMiB(child.pid!).toFixed(1).padStart(7)}  ${String(fds(child.pid!)).padStart(3)}  ${String(mounts(dir)).padStart(6)}  ${ms.toFixed(0).padStart(6)}\n`,
      );
    report(0, 0);
    let t0 = performance.now();
    for (let i = 1; i <= RUNS; i++) {
      await must(['run', '--rm', 'docker.io/library/busybox:latest', `churn-${i}`, 'true']);
      if (i % EVERY === 0) {
        report(i, (performance.now() - t0) / EVERY);
        t0 = performance.now();
      }
      if (SNAPSHOTS.has(i)) await snapshot(child.pid!, out, i);
    }
    // Idle afterwards: V8's memory reducer shrinks the heap some seconds after the work stops.
    let waited = 0;
    for (const s of SETTLE_S) {
      await new Promise((r) => setTimeout(r, (s - waited) * 1000));
      waited = s;
      process.stdout.write(`  idle ${String(s).padStart(2)} s: rss ${rssMiB(child.pid!).toFixed(1)} MiB\n`);
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`churn: ${(e as Error).stack}\n`);
  process.exit(1);
});
