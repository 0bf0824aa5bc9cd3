import { randomBytes } from 'node:crypto';
import { packAny, service, type AnyValue } from '../../api';
import { unavailable } from '../../core/errors';
import type { H2Channel } from '../../transport';
import { BidiCall } from '../rpc';

/** A Streaming/Stream call after its StreamInit was acknowledged: Any messages both ways. */
export type AnyStream = BidiCall<AnyValue, AnyValue>;

/** containerd's stream id shape: `<prefix>-<nanos>-<random>`. */
export function streamId(prefix: string): string {
  return `${prefix}-${process.hrtime.bigint() % 1_000_000_000n}-${randomBytes(6).toString('base64url')}`;
}

/** Opens a stream named `id` in `namespace` and waits for the server's acknowledgement. */
export async function openStream(ch: H2Channel, namespace: string, id: string): Promise<AnyStream> {
  const call = await BidiCall.open(ch, service('containerd.services.streaming.v1.Streaming').methods.Stream, namespace);
  try {
    await call.send(packAny('containerd.services.streaming.v1.StreamInit', { id }));
    if (!(await call.recv())) throw unavailable(`stream ${id}: the server ended it before acknowledging`);
    return call;
  } catch (e) {
    call.cancel();
    throw e;
  }
}

export const bare = (typeUrl: string): string => typeUrl.replace(/^.*\//, '');
