import { type GrpcServer, type Handler, type MethodDef, type ServerCall, type ServiceImpl, Status } from '../../transport';
import { serverMethods, serviceNames } from '../../api/proto';

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

  registerAll(server: GrpcServer): void {
    for (const name of ServiceRegistry.allServiceNames()) {
      const def = serverMethods(name);
      const impl: ServiceImpl = { ...(this.impls.get(name) ?? {}) };
      for (const [method, m] of Object.entries(def)) {
        if (impl[method]) continue;
        impl[method] = unimplemented(m, `${name.split('.').pop()}/${method}`);
      }
      server.addService(def, impl);
    }
  }
}

function unimplemented(m: MethodDef, what: string): Handler {
  const st = { code: Status.UNIMPLEMENTED, details: `berth: ${what} is not implemented yet` };
  if (!m.responseStream) return (_call: ServerCall<any, any>, cb: (err: unknown) => void) => cb(st);
  return (call: ServerCall<any, any>) => call.sendStatus(st);
}
