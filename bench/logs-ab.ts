/**
 * `berth logs` of a 100 MiB json-file log, two builds side by side (A/B alternated): each build's
 * berthd runs with its own root and its own container that wrote the log, and each build's CLI
 * reads it into /dev/null. `cat` of the log file is the floor.
 *
 *   tsc -p tsconfig.bench.json && cp -r dist dist-A  (the baseline), change, npm run build, then
 *   node dist-bench/bench/logs-ab.js --a dist-A --b dist [--rounds 5] [--mib 100] [--cli-args '-t']
 *   [--prof DIR]  (--cpu-prof of each berthd and of each build's last CLI run into DIR/a, DIR/b)
 *   [--follow]  (instead: `logs -f -t` latency, the monitor's timestamp → the line on the CLI's stdout)
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { withDeferredExtraCa } from '../src/core/node/extra-ca';
import { timeNs } from '../src/core/time';
import { abMain, cpuMs, launchSide, sideCli, type AbSide } from './lib/ab-sides';
import { BUSYBOX_REF, TASKS_NS } from './lib/containers';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const ROUNDS = Number(arg('rounds', '5'));
const LINES = Math.round((Number(arg('mib', '100')) * (1 << 20)) / 100);
const CLI_ARGS = arg('cli-args', '').split(' ').filter(Boolean);
const PROF = arg('prof', '');
const FOLLOW = process.argv.includes('--follow');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Side extends AbSide {
  logPath: string;
}

async function launch(name: string, dist: string, archive: string): Promise<Side> {
  const prof = PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(PROF, name)}`] : [];
  const base = await launchSide(name, dist, archive, { tag: 'logs-ab', nodeArgs: prof });
  const side: Side = {
    ...base,
    logPath: '',
    stop: async () => {
      await sideCli(side, ['rm', '-f', 'logs-ab']).catch(() => undefined);
      await base.stop();
    },
  };
  const id = (await must(side, ['run', '-d', '--name', 'logs-ab', BUSYBOX_REF, 'sh', '-c', `yes ${'x'.repeat(99)} | head -n ${LINES}`])).trim();
  await must(side, ['wait', id], 600000);
  side.logPath = (await must(side, ['inspect', '--format', '{{.LogPath}}', id])).trim();
  return side;
}

async function must(side: Side, args: string[], timeoutMs = 60000): Promise<string> {
  const r = await sideCli(side, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${side.name}: berth ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 300)}`);
  return r.stdout;
}

/** Wall time, and the CPU time of the command (through a shell that reads its own children's times). */
async function timed(cmd: string, args: string[]): Promise<{ wall: number; cpu: number }> {
  const out = openSync('/dev/null', 'w');
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  let stat = '';
  const t0 = process.hrtime.bigint();
  const code = await new Promise<number | null>((res, rej) => {
    const c = spawn('sh', ['-c', `${quoted} || exit $?; cat /proc/$$/stat >&3`], {
      stdio: ['ignore', out, 'inherit', 'pipe'],
      env: withDeferredExtraCa(process.env),
    });
    c.stdio[3]!.on('data', (b: Buffer) => (stat += b.toString()));
    c.once('error', rej);
    c.once('close', res);
  }).finally(() => closeSync(out));
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}`);
  return { wall, cpu: cpuMs(stat, true) };
}

const statOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8');

/**
 * `berth logs -f -t` of a container that prints a line every 20 ms: each line's arrival on the
 * CLI's stdout (a pipe) minus the monitor's timestamp in it, in ms.
 */
async function followLatency(s: Side, lines = 150): Promise<number[]> {
  const name = `logs-ab-follow-${s.name}`;
  const script = `sleep 1; i=0; while [ $i -lt ${lines} ]; do echo $i; i=$((i+1)); sleep 0.02; done`;
  await must(s, ['run', '-d', '--name', name, BUSYBOX_REF, 'sh', '-c', script]);
  const out: number[] = [];
  const child = spawn(process.execPath, [join(s.dist, 'cli', 'bin.js'), '--address', s.address, '-n', TASKS_NS, 'logs', '-f', '-t', name], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: withDeferredExtraCa(process.env),
  });
  let rest = '';
  child.stdout!.on('data', (b: Buffer) => {
    const now = performance.timeOrigin + performance.now();
    const text = rest + b.toString();
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const l of parts) out.push(now - Number(timeNs(l.slice(0, l.indexOf(' ')))) / 1e6);
  });
  await new Promise((r) => child.once('close', r));
  await must(s, ['rm', '-f', name]);
  return out;
}

async function follow(sides: Side[]): Promise<void> {
  const ms: Record<string, number[]> = { a: [], b: [] };
  for (let r = 0; r < ROUNDS; r++) for (const s of r % 2 ? [...sides].reverse() : sides) ms[s.name]!.push(...(await followLatency(s)));
  const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
  for (const k of ['a', 'b'])
    console.log(`logs -f -t, ${k}: ${ms[k]!.length} lines, median ${median(ms[k]!).toFixed(2)} ms, p95 ${pct(ms[k]!, 0.95).toFixed(2)} ms`);
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

abMain<Side>(async (archive, sides) => {
  sides.push(await launch('a', resolve(arg('a', 'dist-A')), archive), await launch('b', resolve(arg('b', 'dist')), archive));
  if (FOLLOW) return await follow(sides);
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ${LINES} lines; cli args: ${CLI_ARGS.join(' ')}`,
  );
  const ms: Record<string, { wall: number[]; cli: number[]; daemon: number[] }> = {};
  for (const k of ['a', 'b', 'cat']) ms[k] = { wall: [], cli: [], daemon: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...sides].reverse() : sides;
    for (const s of order) {
      const last = PROF && r === ROUNDS - 1;
      if (last) mkdirSync(join(PROF, `${s.name}-cli`), { recursive: true });
      const prof = last ? ['--cpu-prof', `--cpu-prof-dir=${join(PROF, `${s.name}-cli`)}`] : [];
      const d0 = cpuMs(statOf(s.pid));
      const t = await timed(process.execPath, [...prof, join(s.dist, 'cli', 'bin.js'), '--address', s.address, '-n', TASKS_NS, 'logs', ...CLI_ARGS, 'logs-ab']);
      const m = ms[s.name]!;
      m.wall.push(t.wall);
      m.cli.push(t.cpu);
      m.daemon.push(cpuMs(statOf(s.pid)) - d0);
    }
    const c = await timed('cat', [sides[0]!.logPath]);
    ms.cat!.wall.push(c.wall);
    const row = (k: string) => `${k} ${ms[k]!.wall[r]!.toFixed(0)} ms (cli cpu ${ms[k]!.cli[r]!.toFixed(0)}, berthd cpu ${ms[k]!.daemon[r]!.toFixed(0)})`;
    console.log(`round ${r + 1}: ${row('a')}, ${row('b')}, cat ${c.wall.toFixed(0)} ms; load ${loadavg()[0]!.toFixed(2)}`);
  }
  const med = (k: string, f: 'wall' | 'cli' | 'daemon') => median(ms[k]![f]);
  for (const f of ['wall', 'cli', 'daemon'] as const) {
    console.log(`median ${f}: a ${med('a', f).toFixed(0)} ms, b ${med('b', f).toFixed(0)} ms (b/a ${(med('b', f) / med('a', f)).toFixed(2)})`);
  }
  console.log(`cat: ${med('cat', 'wall').toFixed(0)} ms`);
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
});
