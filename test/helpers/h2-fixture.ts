/**
 * A gRPC server with buffer-in, buffer-out test methods on either HTTP/2 backend, for the
 * transport's conformance and hostile-peer tests, and what those tests expect of its answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcServer, type ServerCall } from '../../src/transport';
import { rawMethod } from './h2';

export type Backend = 'own' | 'node';
/**
 * Backends the conformance suite checks: berthd's (own) unless BERTH_TEST_BACKENDS lists others.
 * node:http2 answers many protocol errors with GOAWAY(INTERNAL_ERROR) and ignores frames on
 * closed streams (README, "Transport"): `BERTH_TEST_BACKENDS=own,node` shows where.
 */
export const BACKENDS: Backend[] = (process.env.BERTH_TEST_BACKENDS ?? 'own').split(',').filter((b): b is Backend => b === 'own' || b === 'node');

export const DEF = {
  Echo: rawMethod('/t.T/Echo', false, false),
  Hang: rawMethod('/t.T/Hang', false, false),
  Fail: rawMethod('/t.T/Fail', false, false),
  /** Server streaming: the request's first byte × 64 KiB messages, as many as its second byte. */
  Many: rawMethod('/t.T/Many', false, true),
  /** Client streaming: reads everything, answers the byte count. */
  Sink: rawMethod('/t.T/Sink', true, false),
  /** Never reads (paused). */
  Stall: rawMethod('/t.T/Stall', true, true),
  /** Unary; its handler runs on after the call ends, until release() (a slow handler under rapid reset). */
  Linger: rawMethod('/t.T/Linger', false, false),
};
export const ECHO = DEF.Echo.path;

export interface Fixture {
  server: GrpcServer;
  address: string;
  /** Handlers of Hang/Stall calls running now. */
  running: () => number;
  /** Linger handlers running now, the most that ran at once, and a way to let them all finish. */
  linger: { now: number; max: number; release(): void };
  close(): Promise<void>;
}

export async function startServer(backend: Backend, maxReceive = 4 << 20): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-h2-'));
  const address = join(dir, 's.sock');
  const server = new GrpcServer({ maxReceiveMessageLength: maxReceive, backend });
  let running = 0;
  const lingerers: Array<() => void> = [];
  const linger = {
    now: 0,
    max: 0,
    release: () => {
      for (const f of lingerers.splice(0)) f();
    },
  };
  const untilCancelled = (call: ServerCall) =>
    new Promise<void>((resolve) => {
      running++;
      call.on('cancelled', () => {
        running--;
        resolve();
      });
    });
  server.addService(DEF, {
    Echo: (call: ServerCall<Buffer, Buffer>, cb: (e: unknown, v?: Buffer) => void) => cb(null, call.request),
    Hang: (call: ServerCall) => untilCancelled(call),
    Fail: (call: ServerCall<Buffer, Buffer>, cb: (e: unknown) => void) => cb({ code: 3, details: call.request.toString('utf8') }),
    Many: async (call: ServerCall<Buffer, Buffer>) => {
      const [fill = 0, n = 1] = call.request;
      for (let i = 0; i < n && !call.cancelled; i++) {
        if (!call.write(Buffer.alloc(64 << 10, fill))) await new Promise((r) => call.once('drain', r));
      }
      call.end();
    },
    Sink: (call: ServerCall<Buffer, Buffer>, cb: (e: unknown, v?: Buffer) => void) => {
      let n = 0;
      call.on('data', (b: Buffer) => (n += b.length));
      call.on('end', () => cb(null, Buffer.from(String(n))));
    },
    Linger: (_call: ServerCall, cb: (e: unknown, v?: Buffer) => void) => {
      linger.max = Math.max(linger.max, ++linger.now);
      return new Promise<void>((resolve) =>
        lingerers.push(() => {
          linger.now--;
          cb(null, Buffer.alloc(0));
          resolve();
        }),
      );
    },
    Stall: (call: ServerCall) => {
      call.pause();
      return untilCancelled(call);
    },
  });
  await server.listen(address);
  return {
    server,
    address,
    running: () => running,
    linger,
    close: async () => {
      linger.release();
      await server.close(200);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
