/**
 * Container networking, measured (a standalone script beside `npm run bench`'s workloads: berthd
 * runs in this process with a test network config, so it never touches berth0). Sides alternate
 * every round.
 *
 *  start     engine create + start + wait + rm of `true`: --network none / bridge / bridge with -p;
 *            the same through the built `berth run --rm` (a process and gRPC per run, as ctr);
 *            beside a private containerd 1.6 + runc with `ctr run --rm [--cni]` (ctr runs the same
 *            Debian plugins itself: loopback + bridge + host-local, a throw-away conflist)
 *  tput      loopback TCP throughput into busybox `nc -l` in a container: through a published port
 *            (127.0.0.1:P, DNAT by portmap) vs to the container's address directly
 *  dns       the resolver on the gateway: query latency (c-ares from the host, the path a
 *            container's query takes minus the veth), and how soon a new container's name resolves;
 *            beside what nerdctl's model costs: rewriting every container's /etc/hosts per change
 *
 *   tsc -p tsconfig.bench.json && node dist-bench/bench/network.js [--rounds 10] [--mib 256] [--no-containerd] [--only start,tput,dns]
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { connect, createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CreateOptions } from '../src/engine';
import { CniBridge } from '../test/helpers/cni';
import { startContainerd, type Containerd } from '../test/helpers/containerd';
import { EngineFixture } from '../test/helpers/engine';
import { busyboxImage } from '../test/helpers/images';
import { writeOciArchive, writeOciImage } from '../test/helpers/oci';
import { REPO } from './lib/paths';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const ROUNDS = arg('rounds', 10);
const MIB = arg('mib', 256);
const WITH_CONTAINERD = !process.argv.includes('--no-containerd');
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? new Set(process.argv[i + 1]!.split(',')) : new Set(['start', 'tput', 'dns']);
})();

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const fmt = (xs: number[]) => `median ${q(xs, 0.5).toFixed(1)}  p90 ${q(xs, 0.9).toFixed(1)}  (n=${xs.length})`;
const load = () => loadavg()[0]!.toFixed(1);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Sends `bytes` to host:port as fast as it can; MiB/s (60 s without progress fails). */
async function pump(host: string, port: number, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(1 << 20, 0x61);
  const s = connect({ host, port });
  s.setTimeout(60_000, () => s.destroy(new Error(`no progress to ${host}:${port}`)));
  await once(s, 'connect');
  const t0 = performance.now();
  let sent = 0;
  while (sent < bytes) {
    if (!s.write(chunk)) await once(s, 'drain');
    sent += chunk.length;
  }
  // Until the last byte is handed to the kernel (busybox `nc -l` never closes its side: waiting for
  // a close hung); the socket buffers' few MiB are within the noise at these sizes.
  s.end();
  await once(s, 'finish');
  const mibs = bytes / (1 << 20) / ((performance.now() - t0) / 1000);
  s.destroy();
  return mibs;
}

async function main(): Promise<void> {
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const f = new EngineFixture('benchnet');
  await f.setup();
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-net-'));
  let ctrd: Containerd | undefined;
  let cni: CniBridge | undefined;
  try {
    await f.addImage();
    const e = f.engine;
    const ctx = f.ctx;
    const run = async (o: Omit<CreateOptions, 'image'>) => {
      const t0 = performance.now();
      const c = await e.create(ctx, { image: 'busybox', cmd: ['true'], ...o });
      await e.start(ctx, c.id);
      await e.wait(ctx, c.id);
      await e.remove(ctx, c.id);
      return performance.now() - t0;
    };
    const startOnly = async (o: Omit<CreateOptions, 'image'>) => {
      const c = await e.create(ctx, { image: 'busybox', cmd: ['sleep', '100'], ...o });
      const t0 = performance.now();
      await e.start(ctx, c.id);
      const ms = performance.now() - t0;
      await e.remove(ctx, c.id, { force: true });
      return ms;
    };
    const berthRun = async (flags: string[]) => {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) =>
        execFile(
          process.execPath,
          [join(REPO, 'dist', 'cli', 'bin.js'), '--address', f.dirs.address, '--namespace', f.ns, 'run', '--rm', ...flags, 'busybox', 'true'],
          { timeout: 60_000 },
          (err, _o, stderr) => (err ? reject(new Error(`berth run: ${stderr || err.message}`)) : resolve()),
        ),
      );
      return performance.now() - t0;
    };
    await e.createNetwork(ctx, { name: 'benchnet' });
    if (ONLY.has('start')) {
      for (const o of [{ network: 'none' }, { network: 'bridge' }, { network: 'benchnet' }]) await run(o); // warm: unpack, default network, first ADD

      const sides: Record<string, () => Promise<number>> = {
        'engine run, --network none': () => run({ network: 'none' }),
        'engine run, --network host': () => run({ network: 'host' }),
        'engine run, default bridge': () => run({}),
        'engine run, user network': () => run({ network: 'benchnet' }),
        'engine run, bridge + -p 127.0.0.1::80': () => run({ publish: ['127.0.0.1::80'] }),
        'engine start only, none': () => startOnly({ network: 'none' }),
        'engine start only, bridge': () => startOnly({}),
        // The CLI as a user types it: a process of its own and gRPC, as ctr is.
        'berth run --rm --network none': () => berthRun(['--network', 'none']),
        'berth run --rm (default bridge)': () => berthRun([]),
        'berth run --rm -p 127.0.0.1::80': () => berthRun(['-p', '127.0.0.1::80']),
      };
      if (WITH_CONTAINERD) {
        ctrd = await startContainerd();
        const img = await writeOciImage(join(work, 'layout'), busyboxImage('docker.io/library/busybox:bench'));
        await writeOciArchive(img.layoutDir, join(work, 'busybox.tar'));
        if ((await ctrd.ctr(['images', 'import', join(work, 'busybox.tar')], { timeoutMs: 60_000 })).code !== 0) throw new Error('ctr import failed');
        cni = new CniBridge();
        cni.install();
        let n = 0;
        const ctrRun = async (flags: string[]) => {
          const t0 = performance.now();
          const r = await ctrd!.ctr(['run', '--rm', ...flags, 'docker.io/library/busybox:bench', `b${n++}`, 'true'], { timeoutMs: 60_000 });
          if (r.code !== 0) throw new Error(`ctr run: ${r.stderr}`);
          return performance.now() - t0;
        };
        await ctrRun([]);
        await ctrRun(['--cni']);
        sides['containerd: ctr run --rm'] = () => ctrRun([]);
        sides['containerd: ctr run --rm --cni'] = () => ctrRun(['--cni']);
      }
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
      for (let r = 0; r < ROUNDS; r++) for (const [k, fn] of Object.entries(sides)) times[k]!.push(await fn());
      console.log(`\n== start (ms), ${ROUNDS} rounds alternated, load now ${load()}`);
      for (const [k, v] of Object.entries(times)) console.log(`${k.padEnd(40)} ${fmt(v)}`);
    }
    if (ONLY.has('tput')) {
      // Throughput: published port vs direct.
      const port = await freePort();
      const tput: Record<string, number[]> = { 'published 127.0.0.1:P (DNAT)': [], 'container address directly': [] };
      for (let r = 0; r < Math.max(3, Math.ceil(ROUNDS / 2)); r++) {
        for (const k of Object.keys(tput)) {
          // busybox nc exits as soon as its stdin ends: sleep keeps it open.
          const c = await e.create(ctx, {
            image: 'busybox',
            cmd: ['sh', '-c', 'sleep 100000 | nc -l -p 5001 > /dev/null'],
            publish: [`127.0.0.1:${port}:5001`],
          });
          await e.start(ctx, c.id);
          const ip = (await e.inspect(ctx, c.id)).networkSettings.networks[0]!.ipAddress;
          const target = k.startsWith('published') ? { host: '127.0.0.1', port } : { host: ip, port: 5001 };
          let v = 0;
          for (let i = 0; i < 50 && !v; i++)
            v = await pump(target.host, target.port, MIB << 20).catch(async () => (await new Promise((res) => setTimeout(res, 50)), 0));
          tput[k]!.push(v);
          process.stderr.write(`  ${k}: ${v.toFixed(0)} MiB/s\n`);
          await e.remove(ctx, c.id, { force: true });
        }
      }
      console.log(`\n== loopback throughput into busybox nc (MiB/s, ${MIB} MiB each), load now ${load()}`);
      for (const [k, v] of Object.entries(tput)) console.log(`${k.padEnd(40)} ${fmt(v)}`);
    }
    if (ONLY.has('dns')) {
      // DNS: latency of the resolver on the gateway; how soon a new name resolves.
      const web = await e.create(ctx, { image: 'busybox', name: 'web', network: 'benchnet', cmd: ['sleep', '1000'] });
      await e.start(ctx, web.id);
      const gw = (await e.inspect(ctx, web.id)).networkSettings.networks[0]!.gateway;
      const res = new Resolver({ timeout: 2000, tries: 1 });
      res.setServers([gw]);
      const lat: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const t0 = performance.now();
        await res.resolve4('web');
        lat.push((performance.now() - t0) * 1000);
      }
      console.log(`\n== DNS on the gateway, load now ${load()}`);
      console.log(`${'A query for a container name (µs)'.padEnd(40)} ${fmt(lat)}`);
      const visible: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const name = `late${r}`;
        const c = await e.create(ctx, { image: 'busybox', name, network: 'benchnet', cmd: ['sleep', '1000'] });
        let seenAt = 0;
        let done = false;
        const poll = (async () => {
          while (!done) {
            if (
              await res.resolve4(name).then(
                () => true,
                () => false,
              )
            ) {
              seenAt = performance.now();
              return;
            }
            await new Promise((x) => setTimeout(x, 1));
          }
        })();
        await e.start(ctx, c.id);
        const started = performance.now();
        await Promise.race([poll, new Promise((x) => setTimeout(x, 5000))]);
        done = true;
        visible.push(seenAt ? seenAt - started : NaN);
        await e.remove(ctx, c.id, { force: true });
      }
      console.log(`${'new name resolvable, after start() (ms)'.padEnd(40)} ${fmt(visible)}  (negative: before start returned)`);
      await e.remove(ctx, web.id, { force: true });

      // nerdctl's model for comparison: every running container's hosts file rewritten per change.
      for (const n of [10, 30, 100]) {
        const dir = mkdtempSync(join(tmpdir(), 'berth-hosts-'));
        const lines = Array.from({ length: n }, (_, i) => `10.213.1.${i + 2}\tc${i}`).join('\n');
        const per: number[] = [];
        for (let r = 0; r < 20; r++) {
          const t0 = performance.now();
          for (let i = 0; i < n; i++) writeFileSync(join(dir, `hosts${i}`), `127.0.0.1\tlocalhost\n${lines}\n`);
          per.push(performance.now() - t0);
        }
        rmSync(dir, { recursive: true, force: true });
        console.log(`${`hosts model: rewrite ${n} hosts files (ms)`.padEnd(40)} ${fmt(per)}`);
      }
    }
    console.log(
      `\nload average at end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    cni?.remove();
    await ctrd?.stop();
    rmSync(work, { recursive: true, force: true });
    await f.teardown();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
