/**
 * Engine logs, measured (not yet a row of `npm run bench`; the CLI's `berth logs` brings that):
 *  - the monitor writing a 100 MiB json-file log (a container printing as fast as it can),
 *  - `logs` of that 100 MiB log in full and `--tail 100`,
 *  - `logs -f` latency: stdin line written (attach) → the container echoes it → the monitor logs it →
 *    the follower has it; and the part from the monitor's timestamp to the follower,
 *  - the monitor's RSS: idle with a log, while logging flat out, beside one without capture.
 *
 *   tsc -p tsconfig.bench.json && node dist-bench/bench/engine-logs.js [--mib 100] [--rounds 3]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { EngineFixture } from '../test/helpers/engine';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const MIB = arg('mib', 100);
const ROUNDS = arg('rounds', 3);

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const ppid = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function main(): Promise<void> {
  const f = new EngineFixture('benchlogs');
  await f.setup();
  try {
    await f.addImage();
    const e = f.engine;
    const ctx = f.ctx;
    console.log(
      `load average at start: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );

    // Monitor RSS: a container without capture (plain task) is not made by the engine; compare idle vs busy logging.
    const idle = await e.create(ctx, { image: 'busybox', cmd: ['sleep', '1000'] });
    await e.start(ctx, idle.id);
    const idleMon = ppid((await e.inspect(ctx, idle.id)).state.pid);
    await new Promise((r) => setTimeout(r, 300));
    console.log(`monitor RSS, idle container with a json-file log: ${rssKiB(idleMon)} KiB`);

    for (let round = 0; round < ROUNDS; round++) {
      const line = 'x'.repeat(79);
      const writer = await e.create(ctx, { image: 'busybox', cmd: ['sh', '-c', `yes ${line} | head -c ${MIB * 1024 * 1024}`] });
      const t0 = Date.now();
      await e.start(ctx, writer.id);
      const mon = ppid((await e.inspect(ctx, writer.id)).state.pid);
      let peak = 0;
      const sampler = setInterval(() => {
        try {
          peak = Math.max(peak, rssKiB(mon));
        } catch {
          /* gone */
        }
      }, 20);
      await e.wait(ctx, writer.id);
      clearInterval(sampler);
      const writeMs = Date.now() - t0;
      const size = (await import('node:fs')).statSync((await e.inspect(ctx, writer.id)).logPath).size;
      const cpu = () => {
        const c = process.cpuUsage();
        return (c.user + c.system) / 1000;
      };
      let c0 = cpu();
      let t = Date.now();
      let bytes = 0;
      let entries = 0;
      for await (const x of e.logs(ctx, writer.id)) {
        bytes += x.data.length;
        entries++;
      }
      const readMs = Date.now() - t;
      const readCpu = cpu() - c0;
      c0 = cpu();
      t = Date.now();
      let batched = 0;
      for await (const b of e.logBatches(ctx, writer.id)) batched += b.length;
      const batchMs = Date.now() - t;
      const batchCpu = cpu() - c0;
      t = Date.now();
      let tailN = 0;
      for await (const _ of e.logs(ctx, writer.id, { tail: 100 })) tailN++;
      const tailMs = Date.now() - t;
      console.log(
        `round ${round + 1}: container wrote ${MIB} MiB of output in ${writeMs} ms (${((MIB * 1000) / writeMs).toFixed(0)} MiB/s into a ${(size / 2 ** 20).toFixed(0)} MiB log, monitor RSS peak ${peak} KiB); ` +
          `logs read ${entries} entries (${(bytes / 2 ** 20).toFixed(0)} MiB of text) in ${readMs} ms wall, ${readCpu.toFixed(0)} ms CPU (${(((size / 2 ** 20) * 1000) / readCpu).toFixed(0)} MiB of log per CPU-s); ` +
          `in batches ${batched} in ${batchMs} ms wall, ${batchCpu.toFixed(0)} ms CPU; --tail 100: ${tailN} in ${tailMs} ms`,
      );
      await e.remove(ctx, writer.id);
    }

    // Follow latency.
    const echo = await e.create(ctx, { image: 'busybox', openStdin: true, cmd: ['sh', '-c', 'while read l; do echo "$l"; done'] });
    const s = await e.attach(ctx, echo.id, { stdin: true });
    await e.start(ctx, echo.id);
    const ac = new AbortController();
    const waiters = new Map<string, (t: number, stamp: string) => void>();
    const follower = (async () => {
      for await (const x of e.logs({ ...ctx, signal: ac.signal }, echo.id, { follow: true, tail: 0 })) {
        const now = performance.timeOrigin + performance.now();
        waiters.get(x.data.toString().trim())?.(now, x.timestamp);
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const total: number[] = [];
    const fromStamp: number[] = [];
    for (let i = 0; i < 200; i++) {
      const key = `ping-${i}`;
      const got = new Promise<{ t: number; stamp: string }>((res) => waiters.set(key, (t, stamp) => res({ t, stamp })));
      const t0 = performance.timeOrigin + performance.now();
      await s.write(Buffer.from(`${key}\n`));
      const { t, stamp } = await got;
      waiters.delete(key);
      total.push(t - t0);
      const m = /\.(\d+)Z$/.exec(stamp);
      const stampMs = Date.parse(stamp) + (m ? Number(`0.${m[1]}`) * 1000 - Math.floor(Number(`0.${m[1]}`) * 1000) : 0);
      fromStamp.push(t - stampMs);
      await new Promise((r) => setTimeout(r, 10));
    }
    ac.abort();
    await follower;
    s.close();
    console.log(
      `logs -f latency, stdin write → follower (via the container and the monitor's log): median ${median(total).toFixed(2)} ms, p95 ${pct(total, 0.95).toFixed(2)} ms`,
    );
    console.log(
      `logs -f latency, the monitor's timestamp → follower (file → inotify → read): median ${median(fromStamp).toFixed(2)} ms, p95 ${pct(fromStamp, 0.95).toFixed(2)} ms`,
    );
    console.log(`monitor RSS after all that, idle container: ${rssKiB(idleMon)} KiB`);
    console.log(
      `load average at end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await f.teardown();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
