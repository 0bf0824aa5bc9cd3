import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcServer, type ServerCall } from '../../src/transport';
import { rawMethod } from '../helpers/h2';

/** Buffer-in, buffer-out methods, so the tests see the transport only. */
const raw = rawMethod;
const DEF = {
  Echo: raw('/t.T/Echo', false, false),
  Fail: raw('/t.T/Fail', false, false),
  Many: raw('/t.T/Many', false, true),
  Chat: raw('/t.T/Chat', true, true),
  Hang: raw('/t.T/Hang', false, false),
};

let dir: string;
let sock: string;
let server: GrpcServer;
let client: grpc.Client;
const events: string[] = [];

const start = (backend: 'own' | 'node') => async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-h2-'));
  sock = join(dir, 's.sock');
  server = new GrpcServer({ maxReceiveMessageLength: 4 << 20, backend });
  server.addService(DEF, {
    Echo: (call: ServerCall<Buffer, Buffer>, cb: (e: unknown, v?: Buffer) => void) => {
      const ns = call.metadata.get('containerd-namespace')[0];
      const bin = call.metadata.get('x-bin')[0];
      cb(null, Buffer.concat([Buffer.from(`${ns ?? ''}|${Buffer.isBuffer(bin) ? bin.toString('hex') : ''}|`), call.request]));
    },
    Fail: (_call: ServerCall, cb: (e: unknown) => void) => cb({ code: grpc.status.NOT_FOUND, details: 'nöt here: 100%' }),
    Many: (call: ServerCall<Buffer, Buffer>) => {
      // 24 MiB in 1 MiB messages: more than any window, so flow control and drain must work.
      let i = 0;
      const next = () => {
        while (i < 24) {
          const ok = call.write(Buffer.alloc(1 << 20, i++));
          if (!ok) return void call.once('drain', next);
        }
        call.end();
      };
      next();
    },
    Chat: (call: ServerCall<Buffer, Buffer>) => {
      call.on('data', (m: Buffer) => {
        call.pause();
        setTimeout(() => {
          call.write(Buffer.from(`got ${m.length}`));
          call.resume();
        }, 1);
      });
      call.on('end', () => call.end());
    },
    Hang: (call: ServerCall) => {
      call.on('cancelled', (why: string) => events.push(`cancelled:${why}`));
    },
  });
  await server.listen(sock);
  const C = grpc.makeGenericClientConstructor(DEF as unknown as grpc.ServiceDefinition, 'T');
  client = new C(`unix://${sock}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 << 20 });
};

const stop = async () => {
  client.close();
  await server.close(1000);
  rmSync(dir, { recursive: true, force: true });
};

function unary(method: string, req: Buffer, md = new grpc.Metadata(), deadline?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const opts = deadline ? { deadline: Date.now() + deadline } : {};
    (client as unknown as Record<string, Function>)[method](req, md, opts, (e: grpc.ServiceError | null, v: Buffer) => (e ? reject(e) : resolve(v)));
  });
}

// Both backends serve the same calls the same way (the own one is berthd's; see README, "Transport").
describe.each(['own', 'node'] as const)('berth gRPC server (%s HTTP/2 backend)', (backend) => {
  beforeAll(start(backend));
  afterAll(stop);

  it('serves unary calls with metadata, including -bin values, many in parallel', async () => {
    const md = new grpc.Metadata();
    md.set('containerd-namespace', 'ns1');
    md.set('x-bin', Buffer.from([1, 2, 255]));
    expect((await unary('Echo', Buffer.from('hi'), md)).toString()).toBe('ns1|0102ff|hi');
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => unary('Echo', Buffer.from(String(i)))));
    expect(all.map((b) => b.toString())).toEqual(Array.from({ length: 200 }, (_, i) => `||${i}`));
  });

  it('carries status codes and percent-encoded messages', async () => {
    await expect(unary('Fail', Buffer.alloc(0))).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: 'nöt here: 100%' });
  });

  it('answers UNIMPLEMENTED for unknown methods', async () => {
    const C = grpc.makeGenericClientConstructor({ Nope: raw('/t.T/Nope', false, false) } as unknown as grpc.ServiceDefinition, 'T');
    const c = new C(`unix://${sock}`, grpc.credentials.createInsecure());
    await expect(
      new Promise((res, rej) => (c as unknown as Record<string, Function>).Nope(Buffer.alloc(0), (e: unknown, v: unknown) => (e ? rej(e) : res(v)))),
    ).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    c.close();
  });

  it('refuses a message above the receive limit with RESOURCE_EXHAUSTED', async () => {
    await expect(unary('Echo', Buffer.alloc(5 << 20))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect((await unary('Echo', Buffer.from('still fine'))).toString()).toBe('||still fine');
  });

  it('streams more than the flow-control windows with backpressure, in order', async () => {
    const got: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = (client as unknown as Record<string, Function>).Many(Buffer.alloc(0)) as grpc.ClientReadableStream<Buffer>;
      s.on('data', (b: Buffer) => got.push(b.length === 1 << 20 && b[0] === b[b.length - 1] ? b[0] : -1));
      s.on('error', reject);
      s.on('end', resolve);
    });
    expect(got).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });

  it('delivers a bidi stream in order while the handler pauses, then ends it', async () => {
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = (client as unknown as Record<string, Function>).Chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
      s.on('data', (b: Buffer) => replies.push(b.toString()));
      s.on('error', reject);
      s.on('end', resolve);
      for (let i = 1; i <= 50; i++) s.write(Buffer.alloc(i * 1000));
      s.end();
    });
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `got ${(i + 1) * 1000}`));
  });

  it('tells the handler when the client cancels or the deadline passes', async () => {
    events.length = 0;
    await expect(unary('Hang', Buffer.alloc(0), new grpc.Metadata(), 100)).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    await new Promise((r) => setTimeout(r, 50));
    expect(events.length).toBe(1);
    const call = (client as unknown as Record<string, Function>).Hang(Buffer.alloc(0), () => undefined) as grpc.ClientUnaryCall;
    await new Promise((r) => setTimeout(r, 50));
    call.cancel();
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual([expect.stringMatching(/^cancelled:/), 'cancelled:reset']);
  });

  it('answers HTTP errors for non-gRPC requests and survives garbage', async () => {
    const s = http2.connect('http://localhost', { createConnection: () => net.connect(sock) });
    const status = await new Promise<number>((resolve, reject) => {
      const r = s.request({ ':method': 'POST', ':path': '/t.T/Echo', 'content-type': 'text/plain' });
      r.on('response', (h) => resolve(Number(h[':status'])));
      r.on('error', reject);
      r.end();
    });
    expect(status).toBe(415);
    s.close();
    // Not HTTP/2 at all: the connection is dropped, the server lives on.
    await new Promise<void>((resolve) => {
      const c = net.connect(sock, () => c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      c.on('close', () => resolve());
      c.on('error', () => undefined);
      c.resume();
    });
    expect((await unary('Echo', Buffer.from('alive'))).toString()).toBe('||alive');
  });
});
