import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { errnoCode } from '../core/errors';
import type { GrpcServer } from '../transport';

/**
 * Binds `server` to the unix socket `address` unless another process serves there; a socket file
 * nobody accepts on (a crashed daemon's) is replaced. Resolves false, bound to nothing, when a
 * peer answers: berthd then opens its parts first, so that a second berthd on the same root fails
 * on the metadata DB's lock before it touches the first one's socket (main.ts).
 */
export async function bindUnlessServed(server: GrpcServer, address: string): Promise<boolean> {
  try {
    await server.listen(address);
    return true;
  } catch (e) {
    if (errnoCode(e) !== 'EADDRINUSE') throw e;
  }
  if (await answers(address)) return false;
  rmSync(address, { force: true });
  await server.listen(address);
  return true;
}

function answers(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(address);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
