import {
  type GrpcServer,
  type Handler,
  type MethodDef,
  type ServerCall,
  type ServiceImpl,
  Status,
  type StatusLike,
  type StreamHandler,
  type UnaryCallback,
  type UnaryHandler,
} from '../../transport';
import { isServiceName, serverMethods, serviceNames } from '../../api/proto';

/**
 * Collects service implementations, then registers every service found in proto/ on a server.
 * Methods nobody implemented answer UNIMPLEMENTED with a clear message (ctr relies on the
 * code, e.g. Containers/ListStream falls back to List).
 */
export class ServiceRegistry {
  private impls = new Map<string, ServiceImpl>();

  add(fullName: string, impl: ServiceImpl): void {
    serverMethods(fullName); // fails fast on a typo
    this.impls.set(fullName, { ...(this.impls.get(fullName) ?? {}), ...impl });
  }

  has(fullName: string, method?: string): boolean {
    const impl = this.impls.get(fullName);
    return !!impl && (method === undefined || method in impl);
  }

  /** Full names of every service in proto/. */
  static allServiceNames(): string[] {
    return serviceNames();
  }

  /**
   * Registers every method of every service on `server`; methods nobody added answer
   * UNIMPLEMENTED. Puts the final handlers in place of serveWhileOpening's waiting ones.
   */
  registerAll(server: GrpcServer): void {
    for (const name of ServiceRegistry.allServiceNames()) {
      const def = serverMethods(name);
      const impl: ServiceImpl = { ...(this.impls.get(name) ?? {}) };
      for (const [method, m] of Object.entries(def)) impl[method] ??= unimplemented(m, `${name.split('.').pop()}/${method}`);
      server.addService(def, impl);
    }
    server.setResolver(undefined);
  }

  /**
   * Serves while the daemon is still wiring its parts (`opening`): what was added so far is
   * registered now; any other method of a service in proto/ is described at its first call (a
   * service's generated code is not even loaded before) and waits for `opening`, then runs what
   * was added by then (or answers UNIMPLEMENTED); if opening fails, it answers UNAVAILABLE.
   */
  serveWhileOpening(server: GrpcServer, opening: Promise<void>): void {
    for (const [name, impl] of this.impls) server.addService(serverMethods(name), impl);
    server.setResolver((path) => {
      const [, name, method] = path.split('/');
      if (!name || !method || !isServiceName(name)) return undefined;
      const def = serverMethods(name)[method];
      return def && def.path === path ? { def, handler: this.waiting(opening, name, method, def, `${name.split('.').pop()}/${method}`) } : undefined;
    });
  }

  private waiting(opening: Promise<void>, name: string, method: string, m: MethodDef, what: string): Handler {
    const settled = opening.then(
      () => this.impls.get(name)?.[method] ?? unimplemented(m, what),
      (e: unknown) => failed(m, { code: Status.UNAVAILABLE, details: `berth: berthd failed to start: ${e instanceof Error ? e.message : String(e)}` }),
    );
    // A request stream waits in its call until the handler reads it (flow control holds the client).
    return (call: ServerCall<any, any>, cb?: UnaryCallback) =>
      settled.then((h) => (m.responseStream ? (h as StreamHandler)(call) : (h as UnaryHandler)(call, cb!)));
  }
}

function failed(m: MethodDef, st: StatusLike): Handler {
  if (!m.responseStream) return (_call: ServerCall<any, any>, cb: (err: unknown) => void) => cb(st);
  return (call: ServerCall<any, any>) => call.sendStatus(st);
}

function unimplemented(m: MethodDef, what: string): Handler {
  return failed(m, { code: Status.UNIMPLEMENTED, details: `berth: ${what} is not implemented yet` });
}
