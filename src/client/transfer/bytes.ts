import type { Writable } from 'node:stream';
import { codecOf, packAny } from '../../api';
import { invalidArgument } from '../../core/errors';
import { bare, type AnyStream } from './streams';

/**
 * containerd's transfer byte streams from the client's side: the receiver grants credit in bytes
 * (WindowUpdate), the sender sends Data within it. berth's client grants a few MiB ahead and
 * sends up to 1 MiB per message; containerd's daemon grants 64 KiB at a time, which is honoured.
 */
const DATA = 'containerd.types.transfer.Data';
const WINDOW_UPDATE = 'containerd.types.transfer.WindowUpdate';
export const CLIENT_WINDOW = 8 << 20;
const MAX_DATA = 1 << 20;

/**
 * Sends `input` on `s` (an import) as the server grants credit, then ends our side. Resolves
 * once everything was sent, or as soon as the server ends the stream (it stopped reading: the
 * Transfer call's status says why); rejects if the input fails.
 */
export async function sendArchive(s: AnyStream, input: AsyncIterable<Buffer | Uint8Array | string>): Promise<void> {
  const updates = codecOf(WINDOW_UPDATE);
  let credit = 0;
  let wake: (() => void) | undefined;
  let ended = false;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const reading = (async () => {
    try {
      for (let m = await s.recv(); m; m = await s.recv()) {
        if (bare(m.type_url) === WINDOW_UPDATE) credit += (updates.decode(m.value) as { update: number }).update;
        poke();
      }
    } finally {
      ended = true;
      poke();
    }
  })();
  reading.catch(() => undefined);
  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let off = 0; off < chunk.length;) {
      while (credit <= 0) {
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
      }
      const n = Math.min(credit, MAX_DATA, chunk.length - off);
      credit -= n;
      await s.send(packAny(DATA, { data: chunk.subarray(off, off + n) }));
      off += n;
    }
  }
  await s.end();
}

/**
 * Receives an archive on `s` (an export) into `out`, granting credit as `out` takes the bytes
 * (its backpressure holds the server back); ends `out` when the server ends the stream.
 */
export async function receiveArchive(s: AnyStream, out: Writable, window = CLIENT_WINDOW): Promise<void> {
  const data = codecOf(DATA);
  let granted = 0;
  let received = 0;
  const grant = async () => {
    const outstanding = granted - received;
    if (outstanding > window / 2) return;
    granted += window - outstanding;
    try {
      await s.send(packAny(WINDOW_UPDATE, { update: window - outstanding }));
    } catch (e) {
      if (!s.closed) throw e; // the server finished meanwhile: nothing more to grant
    }
  };
  await grant();
  for (let m = await s.recv(); m; m = await s.recv()) {
    if (bare(m.type_url) !== DATA) throw invalidArgument(`export stream: expected ${DATA}, got ${m.type_url}`);
    const b = (data.decode(m.value) as { data: Uint8Array }).data;
    received += b.length;
    if (!out.write(b)) await drained(out);
    await grant();
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}

function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (e?: Error) => {
      out.off('drain', ok);
      out.off('error', done);
      out.off('close', ok);
      if (e) reject(e);
      else resolve();
    };
    const ok = () => done();
    out.on('drain', ok);
    out.on('error', done);
    out.on('close', ok);
  });
}
