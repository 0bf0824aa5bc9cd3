/**
 * The engine's byte streams over gRPC: a tar going out (CopyFrom, Export) and one coming in
 * (CopyTo, ImportImage), with flow control both ways. Out: the archive is read only while the
 * call takes messages, so a slow client holds berthd at the transport's high-water mark (the
 * helper producing the tar blocks on its pipe), never a whole export in memory. In: the call is
 * paused while the engine has not asked for the next chunk, so HTTP/2 flow control holds the client.
 */
import type { Readable } from 'node:stream';
import type { ServerCall } from '../transport';
import { canceled, invalidArgument } from '../core/errors';
import { drained } from './grpc/handlers';

/** Messages bigger than this are split (berthd's receive limit is the client's concern too). */
const CHUNK = 256 * 1024;

/** Sends `stream`'s bytes as `{ data }` messages; destroys it when the call ends early. */
export async function sendArchive(call: ServerCall<unknown, { data?: Buffer }>, stream: Readable, done: Promise<unknown>): Promise<void> {
  const onCancel = () => stream.destroy();
  call.on('cancelled', onCancel);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let off = 0; off < chunk.length; off += CHUNK) {
        if (!call.write({ data: chunk.subarray(off, off + CHUNK) })) await drained(call);
        if (call.cancelled) return;
      }
    }
    await done;
  } catch (e) {
    if (call.cancelled) return;
    throw e;
  } finally {
    call.off('cancelled', onCancel);
    if (!stream.destroyed) stream.destroy();
    done.catch(() => undefined);
  }
}

interface Chunked<I> {
  init?: I;
  data?: Buffer;
}

/**
 * A client stream whose first message is `init` and the rest `data`: resolves the init, and gives
 * the bytes as an async iterable that reads from the call only when asked for more.
 */
export function receiveChunks<I, M extends Chunked<I>>(call: ServerCall<M, unknown>, method: string): { init: Promise<I>; data: AsyncIterable<Buffer> } {
  const queue: M[] = [];
  let ended = false;
  let cancelled = false;
  let wake: (() => void) | undefined;
  call.pause();
  call.on('data', (m: M) => {
    queue.push(m);
    call.pause();
    wake?.();
  });
  call.on('end', () => {
    ended = true;
    wake?.();
  });
  call.on('cancelled', () => {
    cancelled = true;
    wake?.();
  });
  const next = async (): Promise<M | undefined> => {
    for (;;) {
      const m = queue.shift();
      if (m) return m;
      if (cancelled) throw canceled(`${method}: cancelled by the client`);
      if (ended) return undefined;
      const w = new Promise<void>((r) => (wake = r));
      call.resume();
      await w;
      wake = undefined;
    }
  };
  const init = (async () => {
    const m = await next();
    if (!m?.init) throw invalidArgument(`${method}: the first message must be its init`);
    return m.init;
  })();
  const data: AsyncIterable<Buffer> = {
    async *[Symbol.asyncIterator]() {
      await init;
      for (;;) {
        const m = await next();
        if (!m) return;
        if (m.init) throw invalidArgument(`${method}: only the first message may be its init`);
        if (m.data?.length) yield Buffer.from(m.data);
      }
    },
  };
  return { init, data };
}
