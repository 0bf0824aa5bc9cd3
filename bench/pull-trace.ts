/**
 * Where a berthd `ctr images pull` of the pull-large image spends its time: builds and pushes the
 * image (as bench/pull.workload.ts does) to a loopback registry, starts a private berthd
 * (debug log), pulls N times and prints per pull the wall time, ctr's own fetch/unpack split,
 * berthd's CPU-seconds (its own and its reaped children's: berth-unpack) and each Diff/Apply's
 * wall time from the daemon log. CPU-seconds stay meaningful on a loaded machine.
 *
 *   npx tsc -p tsconfig.bench.json && sudo node dist-bench/bench/pull-trace.js [--rounds 3] [--mib 176]
 *     [--image large|debian|debian-flat] [--under DIR] [--containerd]
 *   (--image: pull-large's generated image (default) or the Debian ones of bench/lib/debian-image.ts;
 *   --under: where the daemon's dirs go, e.g. /dev/shm; --containerd: trace a private containerd
 *   instead, for CPU-seconds side by side, which stay meaningful on a loaded machine)
 *   (--threads prints CPU-seconds per process/thread: berthd's main thread and pool threads, each
 *   berth-unpack thread role, ctr, docker-registry; RPC_TIMING=1 prints per-method totals when handlers log `rpc-timing` lines; BERTHD_NODE_ARGS
 *   passes node flags to berthd, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr, run } from '../test/helpers/ctr';
import { largeImage } from '../test/helpers/large-image';
import { writeOciImage } from '../test/helpers/oci';
import { pushImage, startRegistry } from '../test/helpers/registry';
import { ThreadSampler } from './lib/thread-cpu';
import { BERTHD_NODE_FLAGS } from '../src/daemon/node-flags';
import { berthdEnv } from './lib/paths';
import { debianImages } from './lib/debian-image';
import { launchContainerd } from './lib/daemons';

const NS = 'trace';
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};

/** utime+stime and cutime+cstime of pid, in seconds. */
function cpu(pid: number): { self: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const v = f
    .slice(f.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const hz = 100;
  return { self: (v[11]! + v[12]!) / hz, children: (v[13]! + v[14]!) / hz };
}

interface Traced {
  pid: number;
  address: string;
  /** The debug log so far ('' for containerd). */
  log(): string;
  stop(): Promise<void>;
}

/** berthd from dist/ (this file runs from dist-bench/bench/), debug log kept in memory. */
async function startBerthd(dir: string): Promise<Traced> {
  const address = join(dir, 'berthd.sock');
  const bin = join(__dirname, '..', '..', 'dist', 'daemon', 'bin.js');
  // BERTHD_NODE_ARGS: extra node flags for berthd, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = process.env.BERTHD_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(
    process.execPath,
    [...BERTHD_NODE_FLAGS, ...nodeArgs, bin, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address, '--log-level', 'debug'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: berthdEnv() },
  );
  const d = { child, stderr: '', address };
  child.stderr.on('data', (b: Buffer) => (d.stderr += b.toString()));
  while (!d.stderr.includes('berthd serving')) {
    if (child.exitCode !== null) throw new Error(`berthd exited: ${d.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    pid: child.pid!,
    address,
    log: () => d.stderr,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function main() {
  const rounds = Number(arg('rounds', '3'));
  const dir = await mkdtemp(join(arg('under', tmpdir()), 'berth-pull-trace-'));
  let registry: Awaited<ReturnType<typeof startRegistry>> | undefined;
  let daemon: Traced | undefined;
  try {
    registry = await startRegistry();
    if (process.argv.includes('--containerd')) {
      const c = await launchContainerd({ under: dir });
      daemon = { pid: c.pid, address: c.address, log: () => '', stop: c.stop };
    } else daemon = await startBerthd(dir);
    const which = arg('image', 'large');
    let ref: string;
    if (which === 'debian' || which === 'debian-flat') {
      const imgs = await debianImages((m) => console.log(m));
      const img = which === 'debian' ? imgs.layered : imgs.flat;
      ref = await pushImage(registry, imgs.layoutDir, img.refName, `library/${which}:bench`, { timeoutMs: 300000 });
    } else {
      const layout = join(dir, 'layout');
      const spec = largeImage({ name: 'docker.io/library/large:bench', totalMiB: Number(arg('mib', '176')), dataLayers: 4, filesPerLayer: 200 });
      const img = await writeOciImage(layout, spec);
      ref = await pushImage(registry, layout, img.refName, 'library/large:bench', { timeoutMs: 300000 });
      await rm(layout, { recursive: true, force: true });
    }
    const pid = daemon.pid;
    // PERF_OUT=file: a system-wide `perf record -g` over the pulls only (berthd's pid is printed).
    const perf = process.env.PERF_OUT ? spawn('perf', ['record', '-a', '-g', '-F', '999', '-o', process.env.PERF_OUT], { stdio: 'ignore' }) : undefined;
    if (perf) {
      console.log(`berthd pid ${pid}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    for (let i = 0; i < rounds; i++) {
      const logFrom = daemon.log().length;
      const sampler = process.argv.includes('--threads')
        ? new ThreadSampler(
            new Map([
              [pid, process.argv.includes('--containerd') ? 'containerd' : 'berthd'],
              [process.pid, 'trace'],
            ]),
          )
        : undefined;
      sampler?.start();
      const c0 = cpu(pid);
      const t0 = process.hrtime.bigint();
      const r = await ctr(daemon.address, ['images', 'pull', '--plain-http', ref], { namespace: NS, timeoutMs: 300000 });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const c1 = cpu(pid);
      const threads = sampler?.stop();
      if (r.code !== 0) throw new Error(`ctr pull exited ${r.code}: ${r.stderr}`);
      // eslint-disable-next-line no-control-regex -- ANSI escapes in ctr's progress output
      const plain = r.stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
      const fetched = [...plain.matchAll(/elapsed: ([0-9.]+ ?m?s)/g)].pop()?.[1];
      const unpacked = plain.match(/done: ([0-9.]+(?:ms|s|µs))/)?.[1];
      const applies = daemon
        .log()
        .slice(logFrom)
        .split('\n')
        .filter((l) => l.includes('layer applied'))
        .map((l) => {
          const m = l.match(/"how":"(\w+)".*"ms":(\d+).*"size":(\d+)/);
          return m ? `${m[2]}ms/${(Number(m[3]) / 1e6).toFixed(0)}MB/${m[1]}` : '?';
        });
      if (process.env.RPC_TIMING) {
        const lines = daemon
          .log()
          .slice(logFrom)
          .split('\n')
          .filter((l) => l.includes('rpc-timing'));
        const agg = new Map<string, [number, number]>();
        for (const l of lines) {
          const m = l.match(/"method":"([^"]+)","ms":([0-9.]+)/);
          if (!m) continue;
          const a = agg.get(m[1]!) ?? [0, 0];
          agg.set(m[1]!, [a[0] + 1, a[1] + Number(m[2])]);
        }
        console.log([...agg].map(([k, [n, t]]) => `${k} ×${n} ${t.toFixed(0)}ms`).join(', '));
      }
      console.log(
        `pull ${i + 1}: ${Math.round(ms)} ms (ctr: fetch ${fetched}, unpack ${unpacked}); daemon CPU ${(c1.self - c0.self).toFixed(2)} s + children ${(c1.children - c0.children).toFixed(2)} s; ` +
          `applies ${applies.join(' ')}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      );
      if (process.argv.includes('--timeline')) {
        // Staging events and applies of this pull, ms from its start (log times are wall clock).
        const start = Date.now() - ms;
        for (const l of daemon.log().slice(logFrom).split('\n')) {
          if (!l.includes('layer staging') && !l.includes('layer applied')) continue;
          const rec = JSON.parse(l) as { time: string; msg: string; digest?: string; ms?: number; size?: number };
          console.log(
            `  ${String(Date.parse(rec.time) - start).padStart(6)} ms ${rec.digest?.slice(7, 15)} ${rec.msg}${rec.ms !== undefined ? ` (${rec.ms} ms)` : ''}${rec.size !== undefined ? ` ${(rec.size / 1e6).toFixed(1)} MB` : ''}`,
          );
        }
      }
      if (threads) {
        const work = threads.groups.filter((g) => !g.name.startsWith('trace/'));
        console.log(`  CPU ${work.reduce((a, g) => a + g.seconds, 0).toFixed(2)} s: ${work.map((g) => `${g.name} ${g.seconds.toFixed(2)}`).join(', ')}`);
      }
      await ctr(daemon.address, ['images', 'rm', '--sync', ref], { namespace: NS });
      const left = (await ctr(daemon.address, ['content', 'ls', '-q'], { namespace: NS })).stdout.split('\n').filter(Boolean);
      if (left.length) await ctr(daemon.address, ['content', 'rm', ...left], { namespace: NS });
      await run('sync', []);
    }
    if (perf) {
      const exited = new Promise((r) => perf.once('exit', r));
      perf.kill('SIGINT');
      await exited;
    }
  } finally {
    await daemon?.stop();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
