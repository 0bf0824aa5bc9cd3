import * as grpc from '@grpc/grpc-js';
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcServer, type ServerCall } from '../../src/transport';
import { rawMethod } from '../helpers/h2';
import { encodeHeaders } from '../../src/transport/h2/hpack';
import { frame, PREFACE } from '../helpers/h2-peer';

/** Hostile HTTP/2 peers: the server must refuse or drop them, keep its memory bounded, and go on serving. */
const raw = rawMethod;
const DEF = { Echo: raw('/t.T/Echo', false, false), Sink: raw('/t.T/Sink', true, true) };
const REQUEST = (path: string) =>
  encodeHeaders([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'x'],
    ['content-type', 'application/grpc'],
  ]);

let dir: string;
let sock: string;
let server: GrpcServer;
let client: grpc.Client;
let sinkCalls = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-h2h-'));
  sock = join(dir, 's.sock');
  server = new GrpcServer({ maxReceiveMessageLength: 1 << 20 });
  server.addService(DEF, {
    Echo: (call: ServerCall<Buffer, Buffer>, cb: (e: unknown, v?: Buffer) => void) => cb(null, call.request),
    // Never reads: a client that ignores flow control would make it buffer without bound.
    Sink: (call: ServerCall) => {
      sinkCalls++;
      call.pause();
    },
  });
  await server.listen(sock);
  const C = grpc.makeGenericClientConstructor(DEF as unknown as grpc.ServiceDefinition, 'T');
  client = new C(`unix://${sock}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await server.close(500);
  rmSync(dir, { recursive: true, force: true });
});

const echo = (s: string) =>
  new Promise<string>((resolve, reject) =>
    (client as unknown as Record<string, Function>).Echo(Buffer.from(s), (e: Error | null, v: Buffer) => (e ? reject(e) : resolve(v.toString()))),
  );

/** Sends `bytes` on a fresh connection; resolves with what came back once the server closes it (or after `ms`: generous, a close resolves at once; 300 ms was too short on a loaded machine). */
function exchange(bytes: Buffer[], ms = 5000): Promise<{ closed: boolean; got: Buffer }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const c = net.connect(sock, () => {
      for (const b of bytes) c.write(b);
    });
    const t = setTimeout(() => {
      c.destroy();
      resolve({ closed: false, got: Buffer.concat(parts) });
    }, ms);
    c.on('data', (d) => parts.push(d));
    c.on('error', () => undefined);
    c.on('close', () => {
      clearTimeout(t);
      resolve({ closed: true, got: Buffer.concat(parts) });
    });
  });
}

/** The GOAWAY error code in what the server sent, if any. */
function goAwayCode(got: Buffer): number | undefined {
  for (let i = 0; i + 9 <= got.length;) {
    const len = got.readUIntBE(i, 3);
    if (got[i + 3] === 7 && i + 9 + 8 <= got.length) return got.readUInt32BE(i + 9 + 4);
    i += 9 + len;
  }
  return undefined;
}

describe('berth gRPC server against hostile HTTP/2 peers', () => {
  it('drops a client that sends DATA beyond the stream window it was given', async () => {
    const before = sinkCalls;
    const body = Buffer.alloc(1 << 20);
    const frames = [PREFACE, frame(4, 0, 0), frame(1, 4, 1, REQUEST('/t.T/Sink'))];
    // 17 MiB in 1 MiB frames on one stream: far beyond any window it was given.
    for (let i = 0; i < 17; i++) frames.push(frame(0, 0, 1, body));
    const r = await exchange(frames, 3000);
    expect(sinkCalls).toBe(before + 1);
    expect(r.closed).toBe(true);
    expect(goAwayCode(r.got)).toBe(3); // FLOW_CONTROL_ERROR
    expect(await echo('after window abuse')).toBe('after window abuse');
  });

  it('refuses protocol errors with GOAWAY and a closed connection', async () => {
    const cases: Buffer[][] = [
      [PREFACE, frame(0, 0, 0, Buffer.from('x'))], // DATA on stream 0
      [PREFACE, frame(1, 4, 2, REQUEST('/t.T/Echo'))], // even stream id
      [PREFACE, frame(8, 0, 0, Buffer.alloc(4))], // WINDOW_UPDATE of 0
      [PREFACE, frame(6, 0, 0, Buffer.alloc(3))], // PING of the wrong size
      [PREFACE, frame(1, 0, 1, REQUEST('/t.T/Echo')), frame(0, 0, 1, Buffer.alloc(1))], // DATA inside a header block
      [PREFACE, frame(1, 4, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))], // HPACK index beyond the tables
      [PREFACE, frame(4, 0, 0, Buffer.from([0, 4, 0xff, 0xff, 0xff, 0xff]))], // SETTINGS: window above 2^31-1
      [Buffer.from('GET / HTTP/1.1\r\n\r\n')], // not HTTP/2
    ];
    const open: number[] = [];
    for (const [i, c] of cases.entries()) if (!(await exchange(c)).closed) open.push(i);
    expect(open).toEqual([]);
    expect(await echo('after protocol errors')).toBe('after protocol errors');
  });

  it('survives random and truncated frames (fuzz)', async () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 150; round++) {
      const frames: Buffer[] = [PREFACE, frame(4, 0, 0)];
      for (let k = 0, n = 1 + rnd(6); k < n; k++) {
        const type = rnd(11);
        const payload = Buffer.alloc(rnd(40));
        for (let j = 0; j < payload.length; j++) payload[j] = rnd(256);
        const f = frame(type, rnd(256), rnd(4), type === 1 && rnd(2) ? REQUEST('/t.T/Echo') : payload);
        frames.push(rnd(5) === 0 ? f.subarray(0, rnd(f.length)) : f);
      }
      await exchange(frames, 20);
    }
    expect(await echo('after fuzz')).toBe('after fuzz');
  });
});
