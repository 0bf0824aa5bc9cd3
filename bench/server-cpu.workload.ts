/**
 * Issue 12: server CPU per call, for each of berthd's two HTTP/2 backends (own, node:http2)
 * beside containerd's grpc-go, each in a fresh daemon. CPU is the daemon's threads' on-CPU time
 * (/proc/PID/task/TID/schedstat, ns) across the calls.
 *   server-cpu-unary-<backend>  µs per Version call: a grpc-js client, 8 connections × 8 calls in
 *                               flight, 4,000 calls (1,000 with --quick) after a warm-up
 *   server-cpu-write-<backend>  ms per MiB of Content/Write: the real `ctr content ingest` of 256 MiB
 *                               (64 with --quick) into a daemon whose root is on tmpfs (/dev/shm)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { run } from '../test/helpers/ctr';
import { client, unary, VERSION_SERVICE } from './lib/grpc';
import { randomFile } from './lib/payload';
import { parallel } from './lib/builtin/rpc-latency';
import type { BenchEnv, Launched, Side, Workload } from './lib/workload';

/** On-CPU nanoseconds of every thread of `pid` so far. */
export function cpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns;
}

type Backend = 'own' | 'node';
const launched = new WeakMap<BenchEnv, Map<string, Launched>>();

function daemonOf(env: BenchEnv, key: string): Launched {
  const d = launched.get(env)?.get(key);
  if (!d) throw new Error(`${key}: no daemon (setup failed)`);
  return d;
}

async function launch(side: Side, env: BenchEnv, key: string, backend: Backend, under?: string): Promise<Launched> {
  let m = launched.get(env);
  if (!m) launched.set(env, (m = new Map()));
  const d = await side.launch({ under, env: { BERTH_GRPC_SERVER: backend } });
  m.set(key, d);
  return d;
}

async function stop(env: BenchEnv, key: string): Promise<void> {
  const m = launched.get(env);
  await m?.get(key)?.stop();
  m?.delete(key);
}

function unaryWorkload(backend: Backend): Workload {
  const clients = new Map<string, grpc.Client[]>();
  const key = (side: Side) => `unary-${backend}-${side.name}`;
  return {
    name: `server-cpu-unary-${backend}`,
    description: `daemon CPU per Version call (grpc-js client, 8 connections); berth with its ${backend === 'own' ? 'own HTTP/2 code' : 'node:http2 backend'}`,
    unit: 'µs',
    better: 'lower',
    rounds: 5,
    async setup(side, env) {
      const d = await launch(side, env, key(side), backend);
      const cs = Array.from({ length: 8 }, () => client(d.address, VERSION_SERVICE));
      clients.set(key(side), cs);
      await parallel(800, 64, (i) => unary(cs[i % 8]!, 'Version', {}));
    },
    async sample(side, env) {
      const d = daemonOf(env, key(side));
      const cs = clients.get(key(side))!;
      const n = env.quick ? 1000 : 4000;
      const before = cpuNs(d.pid);
      await parallel(n, 64, (i) => unary(cs[i % 8]!, 'Version', {}));
      return (cpuNs(d.pid) - before) / n / 1000;
    },
    async teardown(side, env) {
      for (const c of clients.get(key(side)) ?? []) c.close();
      clients.delete(key(side));
      await stop(env, key(side));
    },
  };
}

const files = new WeakMap<BenchEnv, Promise<{ file: string; mib: number; size: number; digest: string }>>();

function payload(env: BenchEnv): Promise<{ file: string; mib: number; size: number; digest: string }> {
  let p = files.get(env);
  if (!p) {
    p = (async () => {
      const mib = env.quick ? 64 : 256;
      return { ...randomFile(join(env.workDir, `server-cpu-${mib}.bin`), mib), mib };
    })();
    files.set(env, p);
  }
  return p;
}

function writeWorkload(backend: Backend): Workload {
  const key = (side: Side) => `write-${backend}-${side.name}`;
  return {
    name: `server-cpu-write-${backend}`,
    description: `daemon CPU per MiB of \`ctr content ingest\` (tmpfs root); berth with its ${backend === 'own' ? 'own HTTP/2 code' : 'node:http2 backend'}`,
    unit: 'ms/MiB',
    better: 'lower',
    rounds: 3,
    timeoutMs: 300000,
    async setup(side, env) {
      await payload(env);
      await launch(side, env, key(side), backend, '/dev/shm');
    },
    async sample(side, env, round) {
      const d = daemonOf(env, key(side));
      const p = await payload(env);
      const before = cpuNs(d.pid);
      const r = await run(
        'sh',
        [
          '-c',
          `exec ctr --address "$0" --namespace bench-cpu content ingest --expected-digest ${p.digest} --expected-size ${p.size} "$1" < "$2"`,
          d.address,
          `cpu-${round}`,
          p.file,
        ],
        { timeoutMs: 300000 },
      );
      if (r.code !== 0) throw new Error(`${side.name}: ctr content ingest exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 300)}`);
      const ms = (cpuNs(d.pid) - before) / 1e6 / p.mib;
      await run('ctr', ['--address', d.address, '--namespace', 'bench-cpu', 'content', 'rm', p.digest], { timeoutMs: 60000 });
      return ms;
    },
    async teardown(side, env) {
      await stop(env, key(side));
    },
  };
}

export const serverCpuUnaryOwn = unaryWorkload('own');
export const serverCpuUnaryNode = unaryWorkload('node');
export const serverCpuWriteOwn = writeWorkload('own');
export const serverCpuWriteNode = writeWorkload('node');
