/** gRPC clients for benchmarks, built by proto-loader from proto/ (src/api/reflect.ts). */
import * as grpc from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { serviceClient } from '../../src/api/reflect';

/** A client of one service by full name, on its own channel (distinct channels = distinct connections). */
export function client(address: string, service: string): grpc.Client {
  const Ctor = serviceClient(service);
  return new Ctor(`unix://${address}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 << 20,
    'grpc.max_send_message_length': 64 << 20,
    // Without this, channels to the same target may share one subchannel (one connection).
    'grpc.use_local_subchannel_pool': 1,
  });
}

export function unary<Res = unknown>(c: grpc.Client, method: string, req: unknown, ns = 'default', deadlineMs = 10000): Promise<Res> {
  const md = new grpc.Metadata();
  md.set('containerd-namespace', ns);
  return new Promise((resolve, reject) => {
    const fn = (c as unknown as Record<string, Function>)[method];
    if (typeof fn !== 'function') return reject(new Error(`no method ${method}`));
    fn.call(c, req, md, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}

/** true, or a "not yet" reason when the server answers UNIMPLEMENTED for this method. */
export async function implemented(address: string, service: string, method: string, req: unknown = {}): Promise<true | string> {
  const c = client(address, service);
  try {
    await unary(c, method, req);
    return true;
  } catch (e) {
    const err = e as grpc.ServiceError;
    if (err.code === grpc.status.UNIMPLEMENTED) return `${service.split('.').pop()}/${method} is UNIMPLEMENTED`;
    return true; // other errors (NotFound, InvalidArgument) mean the method exists
  } finally {
    c.close();
  }
}

export const VERSION_SERVICE = 'containerd.services.version.v1.Version';

/** One Version RPC: the readiness probe used for both daemons. */
export async function versionOk(address: string): Promise<boolean> {
  const c = client(address, VERSION_SERVICE);
  try {
    await unary(c, 'Version', {}, 'default', 1000);
    return true;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

/**
 * Polls every 5 ms until the server at `address` answers Version: how start-up ends for every
 * server the bench times. Throws once `exited()` says how the server went, or after `timeoutMs`;
 * `detail()`, when given, is added to either message (a daemon's stderr).
 */
export async function untilVersion(
  address: string,
  o: { what: string; timeoutMs: number; exited: () => string | undefined; detail?: () => string },
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const more = () => (o.detail ? `: ${o.detail()}` : '');
  while (!(existsSync(address) && (await versionOk(address)))) {
    const how = o.exited();
    if (how !== undefined) throw new Error(`${o.what} exited ${how}${more()}`);
    if (Date.now() > deadline) throw new Error(`${o.what} did not answer Version within ${o.timeoutMs} ms${more()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
