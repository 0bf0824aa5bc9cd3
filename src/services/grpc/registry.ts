import type { MethodDef, ServerCall } from './h2/call';
import type { GrpcServer, Handler, ServiceImpl } from './h2/server';
import { protos, serviceDefinition } from './proto';

/**
 * Collects service implementations, then registers every service found in proto/ on a server.
 * Methods nobody implemented answer UNIMPLEMENTED with a clear message (ctr relies on the
 * code, e.g. Containers/ListStream falls back to List).
 */
export class ServiceRegistry {
  private impls = new Map<string, ServiceImpl>();

  add(fullName: string, impl: ServiceImpl): void {
    serviceDefinition(fullName); // fails fast on a typo
    this.impls.set(fullName, { ...(this.impls.get(fullName) ?? {}), ...impl });
  }

  has(fullName: string, method?: string): boolean {
    const impl = this.impls.get(fullName);
    return !!impl && (method === undefined || method in impl);
  }

  /** Full names of every service in proto/. */
  static allServiceNames(): string[] {
    const def = protos().definition;
    return Object.keys(def).filter((name) => {
      const d = def[name] as unknown as Record<string, unknown>;
      return Object.values(d).every((m) => typeof m === 'object' && m !== null && 'path' in m);
    });
  }

  registerAll(server: GrpcServer): void {
    for (const name of ServiceRegistry.allServiceNames()) {
      const def = serviceDefinition(name);
      const impl: ServiceImpl = { ...(this.impls.get(name) ?? {}) };
      for (const [method, m] of Object.entries(def)) {
        if (impl[method]) continue;
        impl[method] = unimplemented(m as unknown as MethodDef, `${name.split('.').pop()}/${method}`);
      }
      server.addService(def as unknown as Record<string, MethodDef>, impl);
    }
  }
}

const UNIMPLEMENTED = 12;

function unimplemented(m: MethodDef, what: string): Handler {
  const st = { code: UNIMPLEMENTED, details: `berth: ${what} is not implemented yet` };
  if (!m.responseStream) return (_call: ServerCall<any, any>, cb: (err: unknown) => void) => cb(st);
  return (call: ServerCall<any, any>) => call.sendStatus(st);
}
