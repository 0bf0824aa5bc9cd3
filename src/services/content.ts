import type * as grpc from '@grpc/grpc-js';
import type { ContentStore, StreamTarget, Writer } from '../content/types';
import { validateRef } from '../content/paths';
import type { Ctx } from '../core/context';
import { type Digest, validateDigest } from '../core/digest';
import { alreadyExists, invalidArgument, outOfRange } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import { toTimestamp } from './convert/common';
import { type InfoProto, infoToProto, int64, statusToProto } from './convert/content';
import { requireNamespace } from './grpc/context';
import { bidi, serverStream, unary, writeMessage } from './grpc/handlers';

export const CONTENT_SERVICE = 'containerd.services.content.v1.Content';
const LIST_BATCH = 100;

type WriteAction = 'STAT' | 'WRITE' | 'COMMIT';
interface WriteRequest {
  action: WriteAction;
  ref: string;
  total: string;
  expected: string;
  offset: string;
  data: Buffer;
  labels: Record<string, string>;
}

function digestArg(d: string | undefined): string {
  if (!d) throw invalidArgument('digest: required');
  return validateDigest(d);
}

function nonNegative(name: string, v: string | number | undefined): number {
  const n = int64(v);
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`${name}: must be a non-negative integer`);
  return n;
}

/** containerd's contentserver: a thin adapter over the namespaced ContentStore. */
/** `onDeleted` runs after a successful Delete (the daemon schedules a GC there, as containerd marks its DB dirty). */
export function contentService(store: ContentStore, log: Logger, events?: () => EventPublisher | undefined, onDeleted?: () => void): grpc.UntypedServiceImplementation {
  const svc = (m: string) => `Content/${m}`;
  return {
    Info: unary(log, svc('Info'), async (req: { digest: string }, ctx) => ({ info: infoToProto(await store.info(requireNamespace(ctx), digestArg(req.digest))) })),

    Update: unary(log, svc('Update'), async (req: { info: InfoProto | null; update_mask: { paths: string[] } | null }, ctx) => {
      if (!req.info) throw invalidArgument('info: required');
      const info = await store.update(requireNamespace(ctx), { digest: digestArg(req.info.digest), labels: req.info.labels ?? {} }, req.update_mask?.paths);
      return { info: infoToProto(info) };
    }),

    List: serverStream(log, svc('List'), async (req: { filters: string[] }, ctx, call) => {
      let batch: InfoProto[] = [];
      for await (const i of store.walk(requireNamespace(ctx), req.filters)) {
        batch.push(infoToProto(i));
        if (batch.length >= LIST_BATCH) {
          await writeMessage(call, { info: batch });
          batch = [];
        }
      }
      if (batch.length) await writeMessage(call, { info: batch });
    }),

    Delete: unary(log, svc('Delete'), async (req: { digest: string }, ctx) => {
      const c = requireNamespace(ctx);
      const digest = digestArg(req.digest);
      await store.delete(c, digest);
      events?.()?.publish(c.ns, '/content/delete', 'containerd.events.ContentDelete', { digest });
      onDeleted?.();
      return {};
    }),

    Read: serverStream(log, svc('Read'), async (req: { digest: string; offset: string; size: string }, ctx, call) => {
      const c = requireNamespace(ctx);
      const digest = digestArg(req.digest);
      let offset = nonNegative('offset', req.offset);
      const size = nonNegative('size', req.size);
      for await (const data of store.read(c, digest, { offset, size })) {
        if (c.signal?.aborted) return;
        await writeMessage(call, { offset: String(offset), data });
        offset += data.length;
      }
    }),

    Status: unary(log, svc('Status'), async (req: { ref: string }, ctx) => ({ status: statusToProto(await store.status(requireNamespace(ctx), validateRef(req.ref))) })),

    ListStatuses: unary(log, svc('ListStatuses'), async (req: { filters: string[] }, ctx) => ({
      statuses: (await store.listStatuses(requireNamespace(ctx), req.filters)).map(statusToProto),
    })),

    Abort: unary(log, svc('Abort'), async (req: { ref: string }, ctx) => {
      await store.abort(requireNamespace(ctx), validateRef(req.ref));
      return {};
    }),

    Write: bidi(log, svc('Write'), async (ctx, call: grpc.ServerDuplexStream<WriteRequest, unknown>) => {
      widenReceiveWindow(call);
      await writeSession(store, requireNamespace(ctx), call);
    }),
  };
}

/** Bytes of WRITE data a session keeps in flight (received, not yet in the file) before it stops reading. */
export const WRITE_PIPELINE_BYTES = 32 << 20;

/**
 * containerd's Write session (contentserver.go): the first message names the ref and opens
 * (locks) the writer; every request gets exactly one reply echoing its action. An expected
 * digest that is already present ends the stream with AlreadyExists. Ending the stream without
 * COMMIT releases the lock and leaves a resumable ingest.
 *
 * WRITEs are pipelined: a WRITE is hashed and queued at once and the next request is read while
 * its data goes to the file; its reply (in order, with the offset and digest as of that chunk)
 * is sent once the data is in the file. At most WRITE_PIPELINE_BYTES are in flight. STAT, COMMIT,
 * a restart at offset 0 and errors first wait for every earlier reply.
 */
async function writeSession(store: ContentStore, ctx: Ctx, call: grpc.ServerDuplexStream<WriteRequest, unknown>): Promise<void> {
  const tapped = WriteTap.install(call);
  const it = requests<WriteRequest>(call);
  const first = await it.next();
  if (first.done) return;
  let req = first.value;
  let index = 0;
  const ref = validateRef(req.ref);
  const tap = tapped?.withRef(ref);
  let expected = req.expected ? validateDigest(req.expected) : '';
  let total = nonNegative('total', req.total);
  const w: Writer = await store.writer(ctx, { ref, total, expected: expected || undefined });
  // Replies not yet sent, oldest first; `replying` sends them in order.
  const inflight: Array<{ bytes: number; done: Promise<void> }> = [];
  let inflightBytes = 0;
  let failure: unknown;
  let tail: Promise<void> = Promise.resolve();
  const settle = async () => {
    await tail;
    if (failure) throw failure;
  };
  /** Sends `reply` (with the digest `written` resolves to) after every earlier reply. */
  const pipeline = (written: Promise<Digest | void>, bytes: number, reply: Record<string, unknown>) => {
    const prev = tail;
    const done = (async () => {
      const d = await written;
      reply.digest = d || w.digest();
      await prev;
      if (!failure) await writeMessage(call, reply);
    })().catch((e) => {
      failure ??= e;
    });
    inflight.push({ bytes, done });
    inflightBytes += bytes;
    tail = done;
    void done.then(() => {
      inflight.shift();
      inflightBytes -= bytes;
    });
  };
  try {
    for (;;) {
      if (failure) throw failure;
      const st = await w.status();
      let offset = st.offset;
      if (req.expected) {
        expected = validateDigest(req.expected);
        const have = await store.info(ctx, expected).then(
          () => true,
          () => false,
        );
        if (have) {
          await settle();
          await w.close();
          await store.abort(ctx, ref).catch(() => undefined);
          throw alreadyExists(`content ${expected}: already exists`);
        }
      }
      const reqTotal = nonNegative('total', req.total);
      if (reqTotal > 0) total = reqTotal;
      const reply: Record<string, unknown> = { action: req.action, offset: String(offset), total: String(total || st.total) };
      const data = req.data;
      let queued = false;
      const rec = tap?.take(index);
      if (rec) {
        // The data went to the writer as it arrived: check the request is what the tap saw.
        if (rec.broken) throw invalidArgument(`ingest ref ${ref}: ${rec.broken}`);
        if (req.action !== 'WRITE' || !rec.done || req.expected || (req.ref && req.ref !== ref) || data?.length !== rec.length || nonNegative('offset', req.offset) !== rec.offset) {
          throw invalidArgument(`ingest ref ${ref}: streamed WRITE does not match its request`);
        }
      }
      switch (rec ? 'STREAMED' : req.action) {
        case 'STREAMED':
          offset = rec!.offset + rec!.length;
          reply.offset = String(offset);
          queued = true;
          pipeline(rec!.done!, rec!.length, reply);
          break;
        case 'STAT':
          await settle();
          reply.digest = w.digest();
          reply.started_at = toTimestamp(st.startedAt);
          reply.updated_at = toTimestamp(st.updatedAt);
          break;
        case 'WRITE':
        case 'COMMIT': {
          const reqOffset = nonNegative('offset', req.offset);
          if (reqOffset > 0 && reqOffset !== offset) throw outOfRange(`ingest ref ${ref}: write @${reqOffset} must occur at current offset ${offset}`);
          if (reqOffset === 0 && offset > 0) {
            await settle();
            await w.truncate(0);
            offset = 0;
          }
          if (req.action === 'WRITE' && data && data.length > 0) {
            // Pipelined: queue the chunk, reply once it is in the file, read on meanwhile.
            offset += data.length;
            reply.offset = String(offset);
            queued = true;
            pipeline(w.write(data), data.length, reply);
            break;
          }
          await settle();
          if (data && data.length > 0) {
            await w.write(data);
            offset += data.length;
          }
          reply.offset = String(offset);
          if (req.action === 'COMMIT') {
            const labels = req.labels && Object.keys(req.labels).length ? req.labels : undefined;
            reply.digest = await w.commit(total, expected || undefined, labels);
            const after = total || offset;
            reply.offset = String(after);
            reply.total = String(total || after);
          } else reply.digest = w.digest();
          break;
        }
        default:
          throw invalidArgument(`ingest ref ${ref}: unknown write action ${String(req.action)}`);
      }
      if (!queued) await writeMessage(call, reply);
      if (req.action === 'COMMIT') return;
      if (tap) {
        tap.handled = index + 1;
        tap.target = w.streamTarget?.();
      }
      while (inflightBytes > WRITE_PIPELINE_BYTES && inflight.length) await inflight[0]!.done;
      const next = await it.next();
      if (next.done) {
        await settle();
        return;
      }
      req = next.value;
      index++;
      if (req.ref && req.ref !== ref) throw invalidArgument(`ingest ref ${ref}: ref changed to ${JSON.stringify(req.ref.slice(0, 80))} within one Write stream`);
    }
  } catch (e) {
    // Earlier replies go out before the error ends the stream.
    await tail;
    throw e;
  } finally {
    await w.close().catch(() => undefined);
  }
}

/** What the tap did with one WRITE's data, by message index within the stream. */
interface TapRecord {
  offset: number;
  length: number;
  /** Pieces went to the writer as they arrived; `done` gives the digest once all are in the file. */
  done?: Promise<Digest>;
  /** Something went wrong after data was appended: the stream must fail. */
  broken?: string;
}

/** Smallest WRITE data the tap streams (smaller ones go through the ordinary path). */
export const TAP_MIN_DATA = 64 << 10;

/**
 * Streams WRITE data to the writer while the message is still arriving. grpc-js hands a request
 * to the handler only once all of it is in (a 1 MiB WRITE is 64 HTTP/2 frames); hashing and
 * writing it only then puts ~1 ms of sha256 plus a write on the critical path of clients that
 * send one chunk per round trip (ctr). The tap wraps the call's grpc-js StreamDecoder.write,
 * follows the gRPC framing and the protobuf fields of WriteContentRequest as bytes arrive, and
 * once a message has shown (before its data field) action WRITE, no ref change, no expected, and
 * an offset equal to the writer's current one while every earlier message is fully handled,
 * appends the data pieces to the writer as they come. The handler then finds the record for that
 * message (by index) and checks it against the decoded request instead of writing the data
 * again. Anything unexpected leaves messages to the ordinary path; fields 1–6 repeated after the
 * data of a streamed message fail the stream; a message above grpc-js's receive limit is never
 * streamed (grpc-js refuses it whole, and nothing of it may reach the ingest). Relies on grpc-js internals
 * (call.call[.nextCall]*.decoder); where they differ, nothing is tapped. Exported for tests.
 */
export class WriteTap {
  private readonly records = new Map<number, TapRecord>();
  /** Messages whose framing the tap has started (= index of the current one + 1). */
  private started = 0;
  /** Messages the handler has fully handled (its write queued). */
  handled = 0;
  private dead = false;
  target: StreamTarget | undefined;
  // gRPC framing.
  private hdr = Buffer.alloc(5);
  private hdrLen = 0;
  private msgLeft = 0;
  private msgLen = 0;
  private compressed = false;
  // Protobuf field parsing within the current message.
  private fstate: 'tag' | 'varint' | 'len' | 'bytes' | 'skip' | 'data' = 'tag';
  private varint = 0;
  private varShift = 1;
  private field = 0;
  private wire = 0;
  private bytesLeft = 0;
  private collect: Buffer[] | undefined;
  /** The data field now being read goes to the writer. */
  private streaming = false;
  private msg!: { action: number; offset: number; refBytes: number; ref: Buffer[]; expected: boolean; rec?: TapRecord; badOrder: boolean };

  private ref = '';

  /** grpc-js's receive limit (-1: none): a message above it is refused whole, so it is never streamed. */
  private constructor(private readonly maxLen = -1) {}

  /** The session's ref, once known (the first message). */
  withRef(ref: string): this {
    this.ref = ref;
    return this;
  }

  static install(call: unknown): WriteTap | undefined {
    try {
      let c = (call as { call?: unknown }).call as Record<string, unknown> | undefined;
      for (let i = 0; c && i < 5; i++) {
        const dec = c.decoder as { write?: (b: Buffer) => Buffer[]; readState?: number; maxReadMessageLength?: number } | undefined;
        if (dec && typeof dec.write === 'function') {
          // Only from a message boundary with nothing decoded yet, so indexes line up.
          if (dec.readState !== 0 || (c.readQueue as unknown[] | undefined)?.length) return undefined;
          const tap = new WriteTap(typeof dec.maxReadMessageLength === 'number' ? dec.maxReadMessageLength : -1);
          const orig = dec.write;
          dec.write = function (this: unknown, data: Buffer) {
            tap.feed(data);
            return orig.call(this, data);
          };
          return tap;
        }
        c = c.nextCall as Record<string, unknown> | undefined;
      }
    } catch {
      /* best effort */
    }
    return undefined;
  }

  /** The record of message `index` (0-based within the stream), if its data was streamed. */
  take(index: number): TapRecord | undefined {
    const r = this.records.get(index);
    if (r) this.records.delete(index);
    return r;
  }

  private feed(data: Buffer): void {
    if (this.dead) return;
    try {
      let i = 0;
      while (i < data.length) {
        if (this.msgLeft === 0) {
          const n = Math.min(5 - this.hdrLen, data.length - i);
          data.copy(this.hdr, this.hdrLen, i, i + n);
          this.hdrLen += n;
          i += n;
          if (this.hdrLen < 5) return;
          this.hdrLen = 0;
          this.compressed = this.hdr[0] !== 0;
          this.msgLeft = this.hdr.readUInt32BE(1);
          this.msgLen = this.msgLeft;
          this.started++;
          this.fstate = this.compressed ? 'skip' : 'tag';
          this.bytesLeft = this.msgLeft;
          this.msg = { action: 0, offset: 0, refBytes: 0, ref: [], expected: false, badOrder: false };
          this.varint = 0;
          this.varShift = 1;
          if (this.msgLeft === 0) this.endMessage();
          continue;
        }
        const n = Math.min(this.msgLeft, data.length - i);
        this.fields(data, i, i + n);
        i += n;
        this.msgLeft -= n;
        if (this.msgLeft === 0) this.endMessage();
      }
    } catch (e) {
      this.dead = true;
      this.streaming = false;
      if (this.msg?.rec) this.msg.rec.broken = `streaming WRITE data failed: ${(e as Error).message}`;
    }
  }

  /** Parses protobuf bytes [i, end) of the current message. */
  private fields(b: Buffer, i: number, end: number): void {
    while (i < end) {
      switch (this.fstate) {
        case 'skip':
          // Rest of a message the tap does not follow.
          return;
        case 'tag':
        case 'varint':
        case 'len': {
          const byte = b[i++]!;
          this.varint += (byte & 0x7f) * this.varShift;
          this.varShift *= 128;
          if (byte & 0x80) {
            if (this.varShift > 2 ** 63) this.fstate = 'skip';
            continue;
          }
          const v = this.varint;
          this.varint = 0;
          this.varShift = 1;
          if (this.fstate === 'tag') {
            this.field = Math.floor(v / 8);
            this.wire = v % 8;
            if (this.msg.rec && this.field >= 1 && this.field <= 6) this.msg.badOrder = true;
            if (this.wire === 0) this.fstate = 'varint';
            else if (this.wire === 2) this.fstate = 'len';
            else if (this.wire === 1 || this.wire === 5) {
              this.fstate = 'bytes';
              this.bytesLeft = this.wire === 1 ? 8 : 4;
              this.collect = undefined;
            } else this.fstate = 'skip';
          } else if (this.fstate === 'varint') {
            if (this.field === 1) this.msg.action = v;
            else if (this.field === 5) this.msg.offset = v;
            this.fstate = 'tag';
          } else {
            this.bytesLeft = v;
            this.collect = this.field === 2 ? this.msg.ref : undefined;
            if (this.field === 2) this.msg.refBytes = v;
            if (this.field === 4 && v > 0) this.msg.expected = true;
            if (this.field === 6) this.startData(v);
            else this.fstate = v === 0 ? 'tag' : 'bytes';
          }
          break;
        }
        case 'bytes':
        case 'data': {
          const n = Math.min(this.bytesLeft, end - i);
          if (this.fstate === 'data') {
            if (this.streaming) this.target!.append(b.subarray(i, i + n));
          } else if (this.collect && this.collect.reduce((a, x) => a + x.length, 0) < 4096) this.collect.push(b.subarray(i, i + n));
          i += n;
          this.bytesLeft -= n;
          if (this.bytesLeft === 0) {
            if (this.fstate === 'data' && this.streaming) {
              this.streaming = false;
              this.msg.rec!.done = this.target!.flushed();
            }
            this.fstate = 'tag';
          }
          break;
        }
      }
    }
  }

  /** At the data field's length: stream it if the message qualifies, else skip it. */
  private startData(len: number): void {
    this.fstate = len === 0 ? 'tag' : 'data';
    const t = this.target;
    const index = this.started - 1;
    if (len < TAP_MIN_DATA || !t || this.msg.rec || this.msg.action !== 1 || this.msg.expected || this.handled !== index) return;
    if (this.maxLen >= 0 && this.msgLen > this.maxLen) return;
    if (this.msg.refBytes && Buffer.concat(this.msg.ref).toString() !== this.ref) return;
    if (this.msg.offset !== t.accepted) return;
    this.msg.rec = { offset: this.msg.offset, length: len };
    this.records.set(index, this.msg.rec);
    this.streaming = true;
  }

  private endMessage(): void {
    const rec = this.msg.rec;
    if (rec) {
      if (this.msg.badOrder) rec.broken = 'fields after data in a streamed WRITE';
      else if (this.fstate !== 'tag') rec.broken = 'truncated field in a streamed WRITE';
    }
    this.fstate = 'tag';
  }
}

/** HTTP/2 receive windows for sessions that carry Content/Write (connection and per stream). */
export const WRITE_SESSION_WINDOW = 64 << 20;
export const WRITE_STREAM_WINDOW = 16 << 20;
const widened = new WeakSet<object>();

/**
 * grpc-js has no server option for HTTP/2 flow-control windows: the server keeps nghttp2's
 * 64 KiB default, so a 1 MiB WRITE needs ~16 WINDOW_UPDATE round trips and ingest stalls on
 * latency (measured ~110 MiB/s). The first Write on a session raises the session window and
 * advertises a larger SETTINGS_INITIAL_WINDOW_SIZE, which (RFC 9113 §6.9.2) also widens the
 * streams already open. Memory stays bounded: the Write pump pauses the stream per message.
 * This reaches into grpc-js internals (call.call[.nextCall]*.stream.session); if they change,
 * it silently does nothing.
 */
function widenReceiveWindow(call: unknown): void {
  try {
    let c = (call as { call?: unknown }).call as Record<string, unknown> | undefined;
    for (let i = 0; c && i < 5; i++) {
      const session = (c.stream as { session?: import('node:http2').Http2Session } | undefined)?.session;
      if (session) {
        if (widened.has(session) || session.destroyed) return;
        widened.add(session);
        session.setLocalWindowSize(WRITE_SESSION_WINDOW);
        session.settings({ initialWindowSize: WRITE_STREAM_WINDOW });
        return;
      }
      c = c.nextCall as Record<string, unknown> | undefined;
    }
  } catch {
    /* best effort */
  }
}

/**
 * Pulls client messages one at a time (pausing the stream between pulls for flow control).
 * Readable's own async iterator does not see grpc-js's half-close reliably, so this listens to
 * 'data', 'end', 'error' and 'cancelled' itself. A cancelled call ends the iteration.
 */
export function requests<T>(call: grpc.ServerDuplexStream<T, unknown>): { next(): Promise<IteratorResult<T>> } {
  const queue: T[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  call.on('data', (m: T) => {
    queue.push(m);
    call.pause();
    poke();
  });
  call.on('end', () => {
    ended = true;
    poke();
  });
  call.on('error', (e: unknown) => {
    failure = e;
    poke();
  });
  call.on('cancelled', () => {
    ended = true;
    poke();
  });
  return {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (queue.length) {
          const value = queue.shift()!;
          if (queue.length === 0) call.resume();
          return { done: false, value };
        }
        if (failure) throw failure;
        if (ended) return { done: true, value: undefined };
        if (call.isPaused()) call.resume();
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
}
