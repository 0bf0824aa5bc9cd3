/**
 * berth's gRPC server on a unix socket: services registered by path, served by one of two HTTP/2
 * backends behind the same dispatcher and call (the choice and its numbers: README, "Transport").
 */
import { createServer, type Server } from 'node:net';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { GrpcServerOptions, MethodDef, ServiceImpl } from './call-interface';
import { Dispatcher, type MethodResolver } from './dispatch';
import type { H2Connection } from '../h2/connection';
import { serveOwn } from './own-backend';

/** The backend berthd uses unless BERTH_GRPC_SERVER (or the options) says otherwise. */
export const DEFAULT_BACKEND: 'own' | 'node' = 'own';

export class GrpcServer {
  readonly backend: 'own' | 'node';
  private readonly dispatcher: Dispatcher;
  private readonly conns = new Set<H2Connection>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private server: Server | Http2Server | undefined;
  /** performance.now() at the last accepted connection (0: none yet). */
  lastConnectionAt = 0;

  constructor(opts: GrpcServerOptions) {
    const env = process.env.BERTH_GRPC_SERVER;
    this.backend = opts.backend ?? (env === 'node' || env === 'own' ? env : DEFAULT_BACKEND);
    this.dispatcher = new Dispatcher(opts);
  }

  addService(def: Record<string, MethodDef>, impl: ServiceImpl): void {
    this.dispatcher.addService(def, impl);
  }

  /** Resolves, at its first call, a method no service added: what is never called is never described. */
  setResolver(resolver: MethodResolver | undefined): void {
    this.dispatcher.setResolver(resolver);
  }

  async listen(path: string): Promise<void> {
    const server =
      this.backend === 'node'
        ? // Loaded only for this backend: node:http2 (with tls, crypto and http) cost berthd's start ~15 ms of CPU.
          (await import('./node-backend')).createNodeServer(this.dispatcher, this.sessions)
        : createServer((socket) => this.conns.add(serveOwn(socket, this.dispatcher, (c) => this.conns.delete(c))));
    this.server = server;
    server.on('connection', () => (this.lastConnectionAt = performance.now()));
    return new Promise((resolve, reject) => {
      const failed = (e: Error) => {
        if (this.server === server) this.server = undefined; // listen may be tried again
        reject(e);
      };
      server.once('error', failed);
      server.listen(path, () => {
        server.off('error', failed);
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
    for (const s of this.sessions) s.close();
    const deadline = Date.now() + graceMs;
    while ((this.conns.size || this.sessions.size) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const c of [...this.conns]) c.destroy();
    for (const s of [...this.sessions]) s.destroy();
    await stopped;
  }
}
