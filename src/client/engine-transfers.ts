/**
 * The engine's tar streams as the client library offers them: CopyFrom's stat then bytes,
 * Export's bytes, and CopyTo/ImportImage sending an init then the caller's bytes as flow control
 * takes them (a large import never sits in memory on either side).
 */
import type { DeepPartial } from '../api/descriptors';
import type { ArchiveChunk, CopyToInit, ImportImageResponse, ImportInit, PathStat } from '../api/gen/berth/engine/v1/engine';
import { internal } from '../core/errors';
import type { DuplexCall, ResponseStream } from './rpc';

/** Messages bigger than this are split (berthd takes messages up to its receive limit). */
const CHUNK = 256 * 1024;

/** The bytes of an archive stream (each message's `data`). */
export async function* archiveBytes(stream: AsyncIterable<ArchiveChunk>): AsyncGenerator<Buffer> {
  for await (const m of stream) if (m.data?.length) yield Buffer.from(m.data);
}

/** CopyFrom: the path's stat (the first message), then the tar. */
export async function statAndArchive(stream: ResponseStream<ArchiveChunk>): Promise<{ stat: PathStat; data: AsyncIterable<Buffer> }> {
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || !first.value.stat) {
    stream.cancel();
    throw internal('Engine/CopyFrom: the server did not start with the path stat');
  }
  const rest: AsyncIterable<ArchiveChunk> = { [Symbol.asyncIterator]: () => it };
  return { stat: first.value.stat, data: archiveBytes(rest) };
}

/** Sends the init, then `data` in chunks, half-closes and returns the one response. */
export async function upload<I, R>(
  call: DuplexCall<{ init?: I; data?: Buffer }, R>,
  init: DeepPartial<I>,
  data: AsyncIterable<Buffer | Uint8Array | string>,
): Promise<R> {
  const res = call[Symbol.asyncIterator]().next();
  res.catch(() => undefined);
  try {
    await call.send({ init } as DeepPartial<{ init?: I; data?: Buffer }>);
    for await (const piece of data) {
      const b = typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      for (let off = 0; off < b.length; off += CHUNK) await call.send({ data: b.subarray(off, off + CHUNK) } as DeepPartial<{ init?: I; data?: Buffer }>);
    }
    await call.end();
  } catch (e) {
    // A send that failed because the server ended the call throws the server's status already.
    call.cancel();
    throw e;
  }
  const r = await res;
  await call.done;
  if (r.done) throw internal('the call ended without a response');
  return r.value;
}

export type CopyToCall = DuplexCall<{ init?: CopyToInit; data?: Buffer }, object>;
export type ImportCall = DuplexCall<{ init?: ImportInit; data?: Buffer }, ImportImageResponse>;
