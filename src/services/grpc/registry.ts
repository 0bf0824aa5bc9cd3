import * as grpc from '@grpc/grpc-js';
import { protos, serviceDefinition } from './proto';

/**
 * Collects service implementations, then registers every service found in proto/ on a server.
 * Methods nobody implemented answer UNIMPLEMENTED with a clear message (ctr relies on the
 * code, e.g. Containers/ListStream falls back to List).
 */
export class ServiceRegistry {
  private impls = new Map<string, grpc.UntypedServiceImplementation>();

  add(fullName: string, impl: grpc.UntypedServiceImplementation): void {
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

  registerAll(server: grpc.Server): void {
    for (const name of ServiceRegistry.allServiceNames()) {
      const def = serviceDefinition(name);
      const impl: grpc.UntypedServiceImplementation = { ...(this.impls.get(name) ?? {}) };
      for (const [method, m] of Object.entries(def)) {
        if (impl[method]) continue;
        impl[method] = unimplemented(m, `${name.split('.').pop()}/${method}`);
      }
      server.addService(def, impl);
    }
  }
}

function unimplemented(m: grpc.MethodDefinition<unknown, unknown>, what: string): grpc.UntypedHandleCall {
  const st = { code: grpc.status.UNIMPLEMENTED, details: `berth: ${what} is not implemented yet` };
  if (!m.requestStream && !m.responseStream) return ((_: unknown, cb: grpc.sendUnaryData<unknown>) => cb(st)) as grpc.UntypedHandleCall;
  return ((call: NodeJS.EventEmitter) => call.emit('error', st)) as grpc.UntypedHandleCall;
}
