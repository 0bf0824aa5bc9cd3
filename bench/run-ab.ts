/**
 * `berth run --rm [--network none] busybox true`, two builds side by side (A/B alternated run by
 * run): each build's berthd with its own root, each build's CLI against it. Per run: wall time,
 * the CLI's CPU (10 ms ticks: read the means), and berthd's CPU (its threads' scheduler times
 * before and after; the CPU a run costs the daemon moves far less with others' load than wall time).
 *
 *   tsc -p tsconfig.bench.json, a second worktree (or a copy of dist) built at the base, then
 *   node dist-bench/bench/run-ab.js --a ../base/dist --b dist [--runs 25] [--network none]
 *   [--prof DIR]  (--cpu-prof of each berthd into DIR/a, DIR/b; written when it stops)
 *   [--cli-prof DIR]  (--cpu-prof of every CLI run into DIR/a-cli, DIR/b-cli)
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { berthdEnv } from './lib/paths';
import { withDeferredExtraCa } from '../src/core/node/extra-ca';
import { BERTHD_NODE_FLAGS } from '../src/daemon/node-flags';
import { ctr, run } from '../test/helpers/ctr';
import { buildImages, busyboxImage } from '../test/helpers/images';
import { removeTestNetworking, testNetworkConfig } from '../test/helpers/net';
import { untilVersion } from './lib/grpc';
import { BUSYBOX_REF, TASKS_NS } from './lib/containers';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const RUNS = Number(arg('runs', '25'));
const NETWORK = arg('network', '') ? ['--network', arg('network', '')] : [];
const PROF = arg('prof', '');
const CLI_PROF = arg('cli-prof', '');
const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

interface Side {
  name: string;
  pid: number;
  dist: string;
  address: string;
  stop: () => Promise<void>;
}

async function launch(name: string, dist: string, archive: string): Promise<Side> {
  const dir = await mkdtemp(join(tmpdir(), `berth-run-ab-${name}-`));
  const address = join(dir, 'berthd.sock');
  const network = testNetworkConfig(dir);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ network }));
  if (PROF) mkdirSync(join(PROF, name), { recursive: true });
  const prof = PROF ? ['--cpu-prof', '--cpu-prof-interval', '100', `--cpu-prof-dir=${join(PROF, name)}`] : [];
  const args = ['--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address, '--config', config, '--log-level', 'warn'];
  const child = spawn(process.execPath, [...BERTHD_NODE_FLAGS, ...prof, join(dist, 'daemon', 'bin.js'), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: berthdEnv(),
    detached: true,
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  await untilVersion(address, { what: 'berthd', timeoutMs: 15000, exited: () => (gone() ? String(child.exitCode) : undefined), detail: () => '' });
  const side: Side = {
    name,
    pid: child.pid!,
    dist,
    address,
    stop: async () => {
      if (!gone()) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      removeTestNetworking(network);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
  await ctr(address, ['images', 'import', archive], { namespace: TASKS_NS, timeoutMs: 120000 });
  for (let i = 0; i < 2; i++) await runOnce(side); // warm: the image's snapshot, code paths
  return side;
}

/** utime + stime of a process (ms), or with `children` of the children it waited for. */
function cpuMs(stat: string, children = false): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [u, s] = children ? [13, 14] : [11, 12];
  return ((Number(f[u]) + Number(f[s])) * 1000) / 100;
}

/** CPU time of all of a process's threads (ms, from the scheduler's ns counts: no 10 ms ticks). */
function threadsCpuMs(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* the thread ended */
    }
  }
  return ns / 1e6;
}

/** One `run --rm`: wall ms, the CLI's CPU (through a shell that reads its children's times), berthd's CPU. */
async function runOnce(s: Side): Promise<{ wall: number; cli: number; daemon: number }> {
  const prof = CLI_PROF ? ['--cpu-prof', '--cpu-prof-interval', '100', `--cpu-prof-dir=${join(CLI_PROF, `${s.name}-cli`)}`] : [];
  const argv = [process.execPath, ...prof, join(s.dist, 'cli', 'bin.js'), '--address', s.address, '-n', TASKS_NS, 'run', '--rm', ...NETWORK, BUSYBOX_REF, 'true'];
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const d0 = threadsCpuMs(s.pid);
  const t0 = process.hrtime.bigint();
  const r = await run('sh', ['-c', `${quoted} || exit $?; cat /proc/$$/stat >&2`], { timeoutMs: 60000, env: withDeferredExtraCa(process.env) });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0) throw new Error(`${s.name}: berth run exited ${r.code}: ${r.stderr.slice(0, 300)}`);
  return { wall, cli: cpuMs(r.stderr.trim().split('\n').pop()!, true), daemon: threadsCpuMs(s.pid) - d0 };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'berth-run-ab-img-'));
  const { ociArchive } = await buildImages(join(work, 'images'), [busyboxImage()]);
  const sides: Side[] = [];
  try {
    sides.push(await launch('a', resolve(arg('a', 'dist-A')), ociArchive), await launch('b', resolve(arg('b', 'dist')), ociArchive));
    const load0 = loadavg();
    const ms: Record<string, { wall: number[]; cli: number[]; daemon: number[] }> = { a: { wall: [], cli: [], daemon: [] }, b: { wall: [], cli: [], daemon: [] } };
    for (let r = 0; r < RUNS; r++) {
      for (const s of r % 2 ? [...sides].reverse() : sides) {
        const t = await runOnce(s);
        ms[s.name]!.wall.push(t.wall);
        ms[s.name]!.cli.push(t.cli);
        ms[s.name]!.daemon.push(t.daemon);
      }
    }
    const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
    console.log(`run --rm ${NETWORK.join(' ')} busybox true, ${RUNS} runs each, load before ${load(load0)}, after ${load(loadavg())}`);
    for (const f of ['wall', 'cli', 'daemon'] as const) {
      const q = (k: string, p: number) => pct(ms[k]![f], p);
      const mean = (k: string) => ms[k]![f].reduce((x, y) => x + y, 0) / RUNS;
      const row = (k: string) => `${q(k, 0.5).toFixed(1)} (p25 ${q(k, 0.25).toFixed(1)}, p75 ${q(k, 0.75).toFixed(1)}, mean ${mean(k).toFixed(1)})`;
      console.log(`${f.padEnd(6)} a ${row('a')}, b ${row('b')}, b/a ${(q('b', 0.5) / q('a', 0.5)).toFixed(3)} (means ${(mean('b') / mean('a')).toFixed(3)})`);
    }
  } finally {
    for (const s of sides) await s.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
