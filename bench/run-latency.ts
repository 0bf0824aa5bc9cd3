/**
 * `ctr run --rm IMG id true` against berthd and against a private containerd 1.6 + runc, alternated
 * (berth, containerd, berth, …) so machine drift hits both alike; then the time to start N detached
 * containers and the memory each running one costs (its monitor/shim RSS, and the system-wide
 * MemAvailable drop), on both sides. crun refuses this hybrid-cgroup machine, so runc it is.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/run-latency.js [rounds=20] [detached=100]
 *
 * Needs root, /usr/bin/ctr, /usr/bin/containerd and runc. containerd's `run`s go through the fixture's
 * ctr() wrapper, which adds `--cgroup <own cgroup>/berth-ctrd-…/<id>`: its containers nest under this
 * process's cgroup (like berthd's) and stop() removes them, instead of ctr's default `/default/<id>`
 * at the top of every hierarchy. BERTHD / BERTH_HELPER / BERTHD_NODE_ARGS: see berthdBin(), NODE_ARGS.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ctr, type RunResult } from '../test/helpers/ctr';
import { startContainerd } from '../test/helpers/containerd';
import { testDirs, type TestDirs } from '../test/helpers/daemon';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { busyboxImage } from '../test/helpers/images';
import { writeOciArchive, writeOciImage } from '../test/helpers/oci';
import { berthdEnv } from './lib/paths';
import { BERTHD_NODE_FLAGS } from '../src/daemon/node-flags';

const IMG = 'docker.io/library/busybox:bench';
type Ctr = (args: string[], opts?: { timeoutMs?: number }) => Promise<RunResult>;

function ok(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code ?? r.signal}: ${r.stderr}`);
  return r;
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { n: s.length, median: q(0.5), p95: q(0.95), min: s[0]!, max: s[s.length - 1]! };
}

const memAvailableKiB = () => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);

/** Summed VmRSS (KiB) of the parents (monitor or shim) of the given container init pids. */
function monitorsRss(initPids: number[]): { count: number; kib: number } {
  const parents = new Set<number>();
  for (const pid of initPids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parents.add(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  let kib = 0;
  for (const p of parents) kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
  return { count: parents.size, kib };
}

async function detached(name: string, c: Ctr, n: number) {
  const mem0 = memAvailableKiB();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) ok(await c(['run', '-d', IMG, `d${i}`, 'sleep', '1000'], { timeoutMs: 60_000 }), `${name} run -d`);
  const totalMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1000));
  const pids = (await c(['task', 'ls'])).stdout
    .split('\n')
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[1]))
    .filter((p) => p > 0);
  const mon = monitorsRss(pids);
  const memDropKiB = mem0 - memAvailableKiB();
  for (let i = 0; i < n; i++) await c(['task', 'kill', '-s', 'SIGKILL', `d${i}`]);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 100 && !(await c(['task', 'ls'])).stdout.split('\n').every((l) => !l.includes('RUNNING')); k++)
      await new Promise((r) => setTimeout(r, 100));
    await c(['task', 'rm', '-f', `d${i}`]);
    await c(['containers', 'rm', `d${i}`]);
  }
  return {
    n,
    totalMs,
    perContainerMs: totalMs / n,
    monitors: mon.count,
    monitorRssKiBPerContainer: mon.kib / Math.max(1, mon.count),
    memAvailableDropKiBPerContainer: memDropKiB / n,
  };
}

/** dist/daemon/bin.js from bench/ (ts) or dist-bench/bench/ (js); BERTHD=path runs another build (BERTH_HELPER another helper). */
function berthdBin(): string {
  if (process.env.BERTHD) return process.env.BERTHD;
  for (let d = __dirname; d !== '/'; d = join(d, '..'))
    if (existsSync(join(d, 'dist', 'daemon', 'bin.js')) && existsSync(join(d, 'package.json'))) return join(d, 'dist', 'daemon', 'bin.js');
  throw new Error('no dist/daemon/bin.js: run npm run build');
}

/** BERTHD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the daemon. */
const NODE_ARGS = (process.env.BERTHD_NODE_ARGS ?? '').split(' ').filter(Boolean);

class Berthd {
  child?: ChildProcess;
  constructor(readonly dirs: TestDirs) {}
  async start(): Promise<void> {
    const { root, state, address } = this.dirs;
    const child = spawn(
      process.execPath,
      [...BERTHD_NODE_FLAGS, ...NODE_ARGS, berthdBin(), '--root', root, '--state', state, '--address', address, '--log-level', 'warn'],
      { stdio: 'ignore', env: berthdEnv() },
    );
    this.child = child;
    for (let i = 0; i < 300 && !existsSync(address); i++) await new Promise((r) => setTimeout(r, 20));
    ok(await ctr(address, ['version']), 'berthd version');
  }
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const done = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await done;
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 20);
  const nDetached = Number(process.argv[3] ?? 100);
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-run-'));
  const dirs = await testDirs('berth-bench-run-d-');
  const berthd = new Berthd(dirs);
  let containerd: Awaited<ReturnType<typeof startContainerd>> | undefined;
  try {
    const img = await writeOciImage(join(work, 'layout'), busyboxImage(IMG));
    await writeOciArchive(img.layoutDir, join(work, 'busybox.tar'));
    await berthd.start();
    containerd = await startContainerd();
    const sides: Array<[string, Ctr]> = [
      ['berth', (a, o) => ctr(dirs.address, a, { timeoutMs: 60_000, ...o })],
      ['containerd+runc', (a, o) => containerd!.ctr(a, { timeoutMs: 60_000, ...o })],
    ];
    for (const [name, c] of sides) ok(await c(['images', 'import', join(work, 'busybox.tar')]), `${name} import`);

    const samples: Record<string, number[]> = { berth: [], 'containerd+runc': [] };
    for (let r = -2; r < rounds; r++) {
      for (const [name, c] of sides) {
        const t0 = performance.now();
        ok(await c(['run', '--rm', IMG, `lat-${r + 2}`, 'true']), `${name} run --rm`);
        if (r >= 0) samples[name]!.push(performance.now() - t0); // two warm-up rounds
      }
    }
    const b = stats(samples.berth!);
    const c = stats(samples['containerd+runc']!);
    const out: Record<string, unknown> = {
      runRm: { berth: b, containerdRunc: c, ratioOfMedians: b.median / c.median, target: 'berth median ≤ ½ containerd+runc', met: b.median <= c.median / 2 },
    };
    out.detachedBerth = await detached('berth', sides[0]![1], nDetached);
    out.detachedContainerd = await detached('containerd', sides[1]![1], nDetached);
    console.log(JSON.stringify(out, null, 2));
  } finally {
    await berthd.stop();
    await containerd?.stop();
    await rm(dirs.dir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
