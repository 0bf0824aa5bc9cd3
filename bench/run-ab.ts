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
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { withDeferredExtraCa } from '../src/core/node/extra-ca';
import { run } from '../test/helpers/ctr';
import { abMain, cpuMs, launchSide, type AbSide } from './lib/ab-sides';
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

async function launch(name: string, dist: string, archive: string): Promise<AbSide> {
  if (PROF) mkdirSync(join(PROF, name), { recursive: true });
  const prof = PROF ? ['--cpu-prof', '--cpu-prof-interval', '100', `--cpu-prof-dir=${join(PROF, name)}`] : [];
  const side = await launchSide(name, dist, archive, { tag: 'run-ab', nodeArgs: prof });
  for (let i = 0; i < 2; i++) await runOnce(side); // warm: the image's snapshot, code paths
  return side;
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
async function runOnce(s: AbSide): Promise<{ wall: number; cli: number; daemon: number }> {
  const prof = CLI_PROF ? ['--cpu-prof', '--cpu-prof-interval', '100', `--cpu-prof-dir=${join(CLI_PROF, `${s.name}-cli`)}`] : [];
  const argv = [
    process.execPath,
    ...prof,
    join(s.dist, 'cli', 'bin.js'),
    '--address',
    s.address,
    '-n',
    TASKS_NS,
    'run',
    '--rm',
    ...NETWORK,
    BUSYBOX_REF,
    'true',
  ];
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const d0 = threadsCpuMs(s.pid);
  const t0 = process.hrtime.bigint();
  const r = await run('sh', ['-c', `${quoted} || exit $?; cat /proc/$$/stat >&2`], { timeoutMs: 60000, env: withDeferredExtraCa(process.env) });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0) throw new Error(`${s.name}: berth run exited ${r.code}: ${r.stderr.slice(0, 300)}`);
  return { wall, cli: cpuMs(r.stderr.trim().split('\n').pop()!, true), daemon: threadsCpuMs(s.pid) - d0 };
}

abMain(async (archive, sides) => {
  sides.push(await launch('a', resolve(arg('a', 'dist-A')), archive), await launch('b', resolve(arg('b', 'dist')), archive));
  const load0 = loadavg();
  const ms: Record<string, { wall: number[]; cli: number[]; daemon: number[] }> = {
    a: { wall: [], cli: [], daemon: [] },
    b: { wall: [], cli: [], daemon: [] },
  };
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
});
