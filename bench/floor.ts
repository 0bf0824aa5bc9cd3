/**
 * What Node itself costs before berthd does anything: start-up (spawn → first Version answered)
 * and idle RSS of berthd beside two floors, measured the same way, A B C alternated:
 *
 * - `floor`: node with berthd's flags (node-flags.ts) running the least a Node server must do to
 *   answer one gRPC call on a unix socket: `node:net`, listen, and a canned HTTP/2 exchange
 *   (SETTINGS, its ACK, then response HEADERS, an empty message and `grpc-status: 0` for each
 *   request stream). No parsing, no routing, no stores.
 * - `floor-noflags`: the same without the flags (node's own code cache for its built-ins applies).
 *
 * The readiness probe is the bench's (a grpc-js Version call every 5 ms, lib/grpc.ts), so the
 * three columns differ only in the server. Idle RSS is VmRSS 1 s after the first answer, and
 * again 10 s after it (settled: V8's memory reducer has run).
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/floor.js [--rounds 9]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BERTHD_NODE_FLAGS } from '../src/daemon/node-flags';
import { withDeferredExtraCa } from '../src/core/node/extra-ca';
import { untilVersion } from './lib/grpc';
import { summarize } from './lib/stats';
import { BERTHD_BIN, berthdEnv } from './lib/paths';
import { rssMiB } from './lib/builtin/idle-rss';
import { unmountUnder } from '../test/helpers/mounts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' } } });
const ROUNDS = Number(values.rounds);

/*
 * The canned server. Frames: 9-byte header (24-bit length, type, flags, 31-bit stream id). The
 * response header block is HPACK without Huffman: 0x88 is the static `:status: 200`; 0x0f 0x10
 * is a literal with the static name `content-type` (index 31); 0x00 a literal with a new name.
 */
const FLOOR_SERVER = `
const net = require('net');
const frame = (type, flags, id, payload) => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3); h[3] = type; h[4] = flags; h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
};
const lit = (s) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
const HEADERS = Buffer.concat([Buffer.from([0x88, 0x0f, 0x10]), lit('application/grpc')]);
const TRAILERS = Buffer.concat([Buffer.from([0x00]), lit('grpc-status'), lit('0')]);
const EMPTY_MESSAGE = Buffer.alloc(5);
net.createServer((s) => {
  let buf = Buffer.alloc(0), preface = false;
  s.write(frame(4, 0, 0, Buffer.alloc(0)));
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!preface) { if (buf.length < 24) return; buf = buf.subarray(24); preface = true; }
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3), type = buf[3], flags = buf[4], id = buf.readUInt32BE(5) & 0x7fffffff;
      if (buf.length < 9 + len) return;
      buf = buf.subarray(9 + len);
      if (type === 4 && !(flags & 1)) s.write(frame(4, 1, 0, Buffer.alloc(0)));
      if (type === 0 && flags & 1) s.write(Buffer.concat([frame(1, 4, id, HEADERS), frame(0, 0, id, EMPTY_MESSAGE), frame(1, 5, id, TRAILERS)]));
    }
  });
  s.on('error', () => {});
}).listen(process.argv[2]);
`;

interface Subject {
  name: string;
  start(dir: string): ChildProcess;
  address(dir: string): string;
}

const serverFile = join(mkdtempSync(join(tmpdir(), 'berth-floor-')), 'floor-server.js');
writeFileSync(serverFile, FLOOR_SERVER);

const SUBJECTS: Subject[] = [
  {
    name: 'floor-noflags',
    start: (dir) => spawn(process.execPath, [serverFile, join(dir, 's.sock')], { stdio: 'ignore', env: withDeferredExtraCa(process.env) }),
    address: (dir) => join(dir, 's.sock'),
  },
  {
    name: 'floor',
    start: (dir) =>
      spawn(process.execPath, [...BERTHD_NODE_FLAGS, serverFile, join(dir, 's.sock')], { stdio: 'ignore', env: withDeferredExtraCa(process.env) }),
    address: (dir) => join(dir, 's.sock'),
  },
  {
    name: 'berthd',
    start: (dir) =>
      spawn(
        process.execPath,
        [...BERTHD_NODE_FLAGS, BERTHD_BIN, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', join(dir, 's.sock'), '--log-level', 'warn'],
        { stdio: 'ignore', env: berthdEnv() },
      ),
    address: (dir) => join(dir, 's.sock'),
  },
];

async function sample(s: Subject): Promise<{ startupMs: number; rss: number; settled: number }> {
  const dir = mkdtempSync(join(tmpdir(), `berth-floor-${s.name}-`));
  const t0 = process.hrtime.bigint();
  const child = s.start(dir);
  try {
    const exited = () => (child.exitCode !== null || child.signalCode !== null ? String(child.exitCode ?? child.signalCode) : undefined);
    await untilVersion(s.address(dir), { what: s.name, timeoutMs: 15000, exited });
    const startupMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await new Promise((r) => setTimeout(r, 1000));
    const rss = await rssMiB(child.pid!);
    await new Promise((r) => setTimeout(r, 9000));
    return { startupMs, rss, settled: await rssMiB(child.pid!) };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results = new Map(SUBJECTS.map((s) => [s.name, { startup: [] as number[], rss: [] as number[], settled: [] as number[] }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of r % 2 ? [...SUBJECTS].reverse() : SUBJECTS) {
      const x = await sample(s);
      results.get(s.name)!.startup.push(x.startupMs);
      results.get(s.name)!.rss.push(x.rss);
      results.get(s.name)!.settled.push(x.settled);
    }
  }
  const load = (await import('node:os')).loadavg().map((l) => l.toFixed(2));
  console.log(
    `${ROUNDS} rounds, alternated; load average ${load.join(' ')}; NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set here, deferred for the servers as the bins do' : 'unset'}`,
  );
  console.log('| server        | startup med (ms) | min   | idle RSS med (MiB) | settled (MiB) |');
  console.log('|---------------|------------------|-------|--------------------|---------------|');
  for (const [name, v] of results) {
    const startup = summarize(v.startup)!;
    const rss = summarize(v.rss)!;
    const settled = summarize(v.settled)!;
    console.log(
      `| ${name.padEnd(13)} | ${startup.median.toFixed(1).padStart(16)} | ${startup.min.toFixed(1).padStart(5)} | ${rss.median.toFixed(1).padStart(18)} | ${settled.median.toFixed(1).padStart(13)} |`,
    );
  }
  rmSync(join(serverFile, '..'), { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
