/**
 * `npm run bench`: berth beside a private real containerd, workload by workload, A B A B.
 *
 *   node dist-bench/bench/run.js [--rounds N] [--only a,b] [--quick] [--out FILE] [--chart FILE] [--no-build] [--list]
 *
 * Leaves nothing behind: both daemons, the registry, every mount and temp dir are released in
 * `finally`, and also on SIGINT/SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ctr } from '../test/helpers/ctr';
import { BUILTIN_WORKLOADS } from './lib/builtin';
import { launchBerthd, launchContainerd } from './lib/daemons';
import { discoverWorkloads } from './lib/discover';
import { createEnv, type OwnedEnv } from './lib/env';
import { measureMachine } from './lib/machine';
import { ensurePackages } from './lib/preflight';
import { REPO } from './lib/paths';
import { runWorkload, type Row } from './lib/runner';
import { chartPng } from './lib/chart';
import { formatMachine, formatTable } from './lib/table';
import type { Launched, LaunchOptions, Side, SideName, Workload } from './lib/workload';

const log = (m: string) => process.stderr.write(`bench: ${m}\n`);
let interrupted = false;

function build(): void {
  // berthd runs from dist/, which `npm run bench` does not compile; stale code would mean stale numbers.
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'inherit' });
  } catch {
    log('warning: tsc -p tsconfig.build.json reported errors; dist/ was still emitted');
  }
  try {
    execFileSync('make', ['-s', '-C', 'native'], { cwd: REPO, stdio: 'inherit' });
  } catch {
    log('warning: native build failed');
  }
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/**
 * Every daemon the run starts, including ones still starting: cleanup waits for those (launch has
 * its own timeout) so an interrupt during a launch cannot leak a daemon.
 */
class DaemonSet {
  private readonly live = new Set<Launched>();
  private readonly starting = new Set<Promise<unknown>>();
  private readonly stopping = new Set<Promise<unknown>>();

  private closed = false;

  async track(launch: () => Promise<Launched>): Promise<Launched> {
    // Workloads keep running while cleanup runs: no new daemons once it has begun.
    if (this.closed) throw new Error('bench interrupted');
    const p = launch();
    this.starting.add(p);
    try {
      const d = await p;
      if (this.closed) {
        await d.stop();
        throw new Error('bench interrupted');
      }
      this.live.add(d);
      const stop = d.stop;
      return {
        ...d,
        stop: async () => {
          this.live.delete(d);
          // Tracked: exiting in the middle of a stop would leave its dir (or a mount) behind.
          const p = stop();
          this.stopping.add(p);
          try {
            await p;
          } finally {
            this.stopping.delete(p);
          }
        },
      };
    } finally {
      this.starting.delete(p);
    }
  }

  async stopAll(log: (m: string) => void): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.starting]);
    for (const d of [...this.live]) await d.stop().catch((e) => log(`cleanup: ${(e as Error).message}`));
    this.live.clear();
    await Promise.allSettled([...this.stopping]);
  }
}

function side(name: SideName, daemon: Launched, launch: (o?: LaunchOptions) => Promise<Launched>, daemons: DaemonSet): Side {
  return {
    name,
    daemon,
    // containerd's own wrapper keeps `ctr run` containers inside our cgroup; berthd nests them itself.
    // Once cleanup has begun a workload must not create more (cleanup lists and removes what exists).
    ctr: (args, opts) => (interrupted ? Promise.reject(new Error('bench interrupted')) : daemon.ctr ? daemon.ctr(args, opts) : ctr(daemon.address, args, opts)),
    launch: (o) => daemons.track(() => launch(o)),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: join(REPO, 'dist-bench', 'results.json') },
      chart: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
    },
  });
  let workloads: Workload[] = [...BUILTIN_WORKLOADS, ...discoverWorkloads(__dirname, log)];
  if (values.list) {
    for (const w of workloads)
      process.stdout.write(`${w.name.padEnd(24)} ${w.unit.padEnd(6)} ${w.description}${w.target ? `  [target ${w.target.text}]` : ''}\n`);
    return 0;
  }
  if (values.only) {
    const want = new Set(values.only.split(','));
    workloads = workloads.filter((w) => want.has(w.name));
  }
  if (process.getuid?.() !== 0) log('warning: not root; containerd and most workloads need root');
  const asked = Math.max(1, Number(values.rounds) || 5);
  const rounds = values.quick ? Math.min(3, asked) : asked;
  await ensurePackages(log);
  if (!values['no-build']) build();

  const daemons = new DaemonSet();
  let env: OwnedEnv | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await daemons.stopAll(log);
      await env?.close().catch((e) => log(`cleanup: ${(e as Error).message}`));
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    // Stays installed: a second Ctrl-C (or a signal to the whole group) must not kill us mid-cleanup.
    if (interrupted) {
      log(`${sig}: still cleaning up`);
      return;
    }
    interrupted = true;
    log(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A workload's stray 'error' event (e.g. an unhandled gRPC stream) must not skip cleanup: the
  // daemons are detached from us only by our own stop(), so a crash would leave them running.
  const onCrash = (e: unknown) => {
    if (interrupted) {
      log(`uncaught during cleanup: ${(e as Error)?.message ?? e}`);
      return;
    }
    interrupted = true;
    log(`uncaught: ${(e as Error)?.stack ?? e}; cleaning up`);
    void cleanup().finally(() => process.exit(2));
  };
  process.on('uncaughtException', onCrash);

  const started = Date.now();
  try {
    log('measuring machine limits');
    const machine = measureMachine(values.quick);
    env = await createEnv(values.quick, log);
    log('starting containerd and berthd');
    const cd = await daemons.track(() => launchContainerd());
    const bd = await daemons.track(() => launchBerthd());
    const sides: Record<SideName, Side> = {
      berth: side('berth', bd, (o) => launchBerthd(o), daemons),
      containerd: side('containerd', cd, (o) => launchContainerd(o), daemons),
    };
    const rows: Row[] = [];
    for (const w of workloads) {
      if (interrupted) break;
      log(`${w.name}: ${w.description}`);
      const row = await runWorkload(w, sides, env, rounds);
      rows.push(row);
      if (row.status !== 'ok') log(`${w.name}: ${row.status}: ${row.note ?? ''}`);
    }
    const loadAvgEnd = loadavg();
    process.stdout.write(
      `\n${formatMachine(machine, loadAvgEnd)}\n${rounds} rounds, A B alternated; ratio = berth median / containerd median\n\n${formatTable(rows)}\n`,
    );
    const out = resolve(values.out!);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          commit: gitCommit(),
          rounds,
          quick: values.quick,
          durationS: (Date.now() - started) / 1000,
          machine,
          loadAvgEnd,
          rows,
        },
        null,
        2,
      ),
    );
    const chart = resolve(values.chart ?? out.replace(/\.json$/, '') + '.png');
    writeFileSync(chart, chartPng(rows, `berth vs containerd ${gitCommit() ?? ''} ${new Date().toISOString().slice(0, 16)}`));
    log(`results written to ${out} and ${chart} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return rows.some((r) => r.status === 'error') ? 1 : 0;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onCrash);
  }
}

main().then(
  (code) => process.exit(interrupted ? 130 : code),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
    process.exit(2);
  },
);
