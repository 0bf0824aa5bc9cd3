import { packAny, service, type AnyValue } from '../../api';
import { unavailable } from '../../core/errors';
import { type CallOptions, duplexCall, type DuplexCall, type Transport } from '../rpc';

/**
 * A Streaming/Stream call after its StreamInit was acknowledged: Any messages both ways, read
 * one at a time with recv() (the transfer protocols are request/answer or credit-driven, so a
 * pull-style reader is simpler than iterating).
 */
export interface AnyStream {
  send(msg: AnyValue): Promise<void>;
  /** The server's next message; undefined once it ended the call with OK; rejects on an error status. */
  recv(): Promise<AnyValue | undefined>;
  end(): Promise<void>;
  cancel(): void;
  /** The call has ended (either side). */
  readonly closed: boolean;
}

function anyStream(call: DuplexCall<AnyValue, AnyValue>): AnyStream {
  const it = call[Symbol.asyncIterator]();
  let closed = false;
  call.done.then(
    () => (closed = true),
    () => (closed = true),
  );
  return {
    send: (m) => call.send(m),
    recv: async () => {
      const r = await it.next();
      return r.done ? undefined : r.value;
    },
    end: () => call.end(),
    cancel: () => call.cancel(),
    get closed() {
      return closed;
    },
  };
}

/** containerd's stream id shape: `<prefix>-<nanos>-<random>`. */
export function streamId(prefix: string): string {
  // node:crypto is required here, not at the top: every CLI command loads this module, few open streams.
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto'); // eslint-disable-line @typescript-eslint/no-require-imports
  return `${prefix}-${process.hrtime.bigint() % 1_000_000_000n}-${randomBytes(6).toString('base64url')}`;
}

/** Opens a stream named `id` (in the transport's namespace unless `o.namespace`) and waits for the server's acknowledgement. */
export async function openStream(t: Transport, id: string, o: CallOptions = {}): Promise<AnyStream> {
  const s = anyStream(duplexCall(t, service('containerd.services.streaming.v1.Streaming').methods.Stream, o));
  try {
    await s.send(packAny('containerd.services.streaming.v1.StreamInit', { id }));
    if (!(await s.recv())) throw unavailable(`stream ${id}: the server ended it before acknowledging`);
    return s;
  } catch (e) {
    s.cancel();
    throw e;
  }
}

export const bare = (typeUrl: string): string => typeUrl.replace(/^.*\//, '');
