/**
 * berth's gRPC server: services registered by path, served over berth's own HTTP/2 connection
 * code on a unix socket. It replaces grpc-js's Server (kept for clients) to halve per-call CPU;
 * see connection.ts for why.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Status } from './codes';
import { H2Connection } from '../h2/connection';
import { encodeHeaders, type HeaderList } from '../h2/hpack';
import { CallMetadata, parseTimeout } from './messages';
import { type MethodDef, ServerCall, statusOf, streamEvents } from './call';
import type { H2Stream } from '../h2/stream';

export type UnaryHandler = (call: ServerCall<any, any>, callback: (err: unknown, value?: unknown) => void) => void;
export type StreamHandler = (call: ServerCall<any, any>) => void;
export type Handler = UnaryHandler | StreamHandler;
export type ServiceImpl = Record<string, Handler>;

interface Registered {
  def: MethodDef;
  handler: Handler;
}


export class GrpcServer {
  private readonly methods = new Map<string, Registered>();
  private readonly conns = new Set<H2Connection>();
  private server: Server | undefined;

  constructor(private readonly opts: { maxReceiveMessageLength: number; onError?: (what: string, e: unknown) => void }) {}

  addService(def: Record<string, MethodDef>, impl: ServiceImpl): void {
    for (const [name, m] of Object.entries(def)) {
      const handler = impl[name] as Handler | undefined;
      if (handler) this.methods.set(m.path, { def: m, handler });
    }
  }

  listen(path: string): Promise<void> {
    const server = createServer((socket: Socket) => {
      const conn = new H2Connection(
        socket,
        (stream, headers) => this.dispatch(stream, headers),
        () => this.conns.delete(conn),
      );
      this.conns.add(conn);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting, asks clients to go away, and waits up to `graceMs` for open calls. */
  async close(graceMs: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const stopped = new Promise<void>((r) => server.close(() => r()));
    for (const c of this.conns) c.goAway();
    const deadline = Date.now() + graceMs;
    while (this.conns.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const c of [...this.conns]) c.destroy();
    await stopped;
  }

  private dispatch(stream: H2Stream, headers: HeaderList): void {
    let path = '';
    let method = '';
    let contentType = '';
    let timeout: number | undefined;
    const md = new CallMetadata();
    for (const [name, value] of headers) {
      if (name.charCodeAt(0) === 58 /* ':' */) {
        if (name === ':path') path = value;
        else if (name === ':method') method = value;
        continue;
      }
      switch (name) {
        case 'content-type':
          contentType = value;
          continue;
        case 'grpc-timeout':
          timeout = parseTimeout(value);
          continue;
        case 'te':
        case 'grpc-encoding':
        case 'grpc-accept-encoding':
          continue;
      }
      md.add(name, name.endsWith('-bin') ? Buffer.from(value, 'base64') : value);
    }
    if (method !== 'POST' || !contentType.startsWith('application/grpc')) {
      stream.headers(encodeHeaders([[':status', method !== 'POST' ? '405' : '415']]), true);
      return;
    }
    const reg = this.methods.get(path);
    if (!reg) {
      const call = new ServerCall(stream, { path, requestStream: true, responseStream: true } as MethodDef, md, 0);
      call.sendStatus({ code: Status.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
      return;
    }
    const call = new ServerCall(stream, reg.def, md, this.opts.maxReceiveMessageLength);
    stream.events = streamEvents(call);
    if (timeout !== undefined) call.setDeadline(timeout);
    const { def, handler } = reg;
    const run = () => {
      try {
        if (def.responseStream) (handler as StreamHandler)(call);
        else (handler as UnaryHandler)(call, call.callback);
      } catch (e) {
        this.opts.onError?.(path, e);
        call.sendStatus(statusOf(e));
      }
    };
    if (def.requestStream) run();
    else call.onRequest = run;
  }
}
