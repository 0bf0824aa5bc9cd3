import { Writable } from 'node:stream';
import { codecOf, packAny, type AnyValue } from '../../api';
import { canceled, invalidArgument } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { AnyStream } from './manager';

/**
 * containerd's transfer byte streams (core/transfer/streaming) on a Streaming stream: the
 * receiver grants credit in bytes with WindowUpdate, the sender sends Data within it. containerd
 * grants 64 KiB at a time and sends 32 KiB per Data; berth grants more (a few MiB ahead, so a
 * fast client is not held to one round trip per 64 KiB) and honours any credit it is given.
 */
export const DATA = 'containerd.types.transfer.Data';
export const WINDOW_UPDATE = 'containerd.types.transfer.WindowUpdate';
const bare = (u: string) => u.replace(/^.*\//, '');

/** Credit berth keeps granted ahead of what it consumed (receiving). */
export const RECEIVE_WINDOW = 8 << 20;
/** Largest Data message berth sends, whatever the credit (a client's message limit is often 4 MiB). */
export const MAX_DATA = 1 << 20;

export function windowUpdate(n: number): AnyValue {
  return packAny(WINDOW_UPDATE, { update: n });
}

export function dataMessage(b: Buffer): AnyValue {
  return packAny(DATA, { data: b });
}

/**
 * The bytes a client sends on `s` (an import), as they are consumed: credit goes out ahead, up to
 * `window` bytes, so the client never waits while the consumer keeps up. The stream ends when
 * the client ends its side; a client that resets it fails the read (Canceled).
 */
export async function* receiveBytes(s: AnyStream, what: string, window = RECEIVE_WINDOW): AsyncGenerator<Buffer> {
  const dataCodec = codecOf(DATA);
  let granted = 0;
  let received = 0;
  const topUp = async () => {
    const outstanding = granted - received;
    if (outstanding <= window / 2) {
      const n = window - outstanding;
      granted += n;
      await s.send(windowUpdate(n));
    }
  };
  await topUp();
  for (;;) {
    const m = await s.recv();
    if (!m) {
      if (s.reset) throw canceled(`${what} stream: reset by the client`);
      return;
    }
    if (bare(m.type_url) !== DATA) throw invalidArgument(`${what} stream: expected ${DATA}, got ${JSON.stringify(m.type_url.slice(0, 200))}`);
    const data = (dataCodec.decode(m.value) as { data: Uint8Array }).data;
    received += data.length;
    if (received > granted) throw invalidArgument(`${what} stream: the client sent ${received - granted} bytes beyond the credit it was given`);
    if (data.length) yield Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await topUp();
  }
}

/**
 * A Writable that sends what is written to it on `s` as Data within the client's credit (an
 * export). Credit comes back as WindowUpdate messages, read in the background; writes wait for
 * it. `end()` does not close the stream: the caller closes it once the operation is done.
 */
export function sendBytes(s: AnyStream, what: string, log: Logger): Writable {
  const updateCodec = codecOf(WINDOW_UPDATE);
  let credit = 0;
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let noMoreCredit = false;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  void (async () => {
    try {
      for (let m = await s.recv(); m; m = await s.recv()) {
        if (bare(m.type_url) !== WINDOW_UPDATE) {
          log.debug('transfer stream: ignoring a message that is no WindowUpdate', { what, type: m.type_url.slice(0, 200) });
          continue;
        }
        const n = (updateCodec.decode(m.value) as { update: number }).update;
        if (n > 0) credit += n;
        poke();
      }
      if (s.reset) failure ??= canceled(`${what} stream: reset by the client`);
      noMoreCredit = true;
    } catch (e) {
      failure ??= e as Error;
    }
    poke();
  })();
  const send = async (chunk: Buffer) => {
    let off = 0;
    while (off < chunk.length) {
      while (credit <= 0 && !failure) {
        if (noMoreCredit) throw canceled(`${what} stream: the client ended it without granting credit for the rest`);
        await new Promise<void>((r) => (wake = r));
      }
      if (failure) throw failure;
      const n = Math.min(credit, MAX_DATA, chunk.length - off);
      credit -= n;
      await s.send(dataMessage(chunk.subarray(off, off + n)));
      off += n;
    }
  };
  return new Writable({
    highWaterMark: MAX_DATA,
    write(chunk: Buffer, _enc, cb) {
      send(chunk).then(() => cb(), cb);
    },
  });
}
