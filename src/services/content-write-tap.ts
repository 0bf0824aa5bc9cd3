/**
 * The Content/Write fast path: streaming WRITE data while its frames arrive (WriteTap), through
 * the call's raw-pieces capability (ServerCall.takeRequestBytes). Kept apart from the service;
 * content.ts's plain path handles every message the tap does not stream.
 */
import type { StreamTarget } from '../content/types';
import type { RequestFramer, ServerCall } from '../transport';

/** What the tap did with one WRITE's data, by message index within the stream. */
interface TapRecord {
  offset: number;
  length: number;
  /**
   * Pieces went to the writer as they arrived (the call got the message without them); `done`
   * resolves once the writer accepted all of them (StreamTarget.flushed).
   */
  done?: Promise<void>;
  /** Something went wrong after data was appended: the stream must fail. */
  broken?: string;
  /** The writer's own error when appending the data failed (e.g. ResourceExhausted: disk full). */
  writerError?: unknown;
}

/** Smallest WRITE data the tap streams (smaller ones go through the ordinary path). */
export const TAP_MIN_DATA = 64 << 10;

/**
 * Streams WRITE data to the writer while the message is still arriving, and keeps that data out
 * of the message decoder. A request reaches the handler only once all of it is in (a 1 MiB WRITE
 * is 64 HTTP/2 frames); hashing and writing it only then puts ~1 ms of sha256 plus a write on the
 * critical path of clients that send one chunk per round trip (ctr). Decoding also copies every
 * message into one new Buffer: 1 GiB of copying and, worse, 1 GiB of external memory per GiB
 * ingested, which made V8 run ~50 full mark-compacts per GiB.
 *
 * The tap therefore takes the call's raw request bytes: it follows the gRPC framing and the
 * protobuf fields of WriteContentRequest as bytes arrive, and once a message has shown (before
 * its data field) action WRITE, no ref change, no expected, and an offset equal to the writer's
 * current one while every earlier message is fully handled, appends the data pieces to the writer
 * as they come and hands the call the message without its data field (a few bytes to decode).
 * The handler then finds the record for that message (by index) and checks it against the
 * decoded request. Every other message reaches the call byte for byte as its own decoder would
 * have framed it. Fields 1–6 repeated after the data of a streamed message fail the stream; a
 * message above the receive limit is refused as the decoder refuses it (the same error, before
 * any of it is read), so nothing of it reaches the ingest. Exported for tests.
 */
export class WriteTap implements RequestFramer {
  private readonly records = new Map<number, TapRecord>();
  /** Messages whose framing the tap has started (= index of the current one + 1). */
  private started = 0;
  /** Messages the handler has fully handled (its write queued). */
  handled = 0;
  /** Set once appending failed: no further message is streamed. */
  private dead = false;
  target: StreamTarget | undefined;
  // gRPC framing.
  private hdr = Buffer.alloc(5);
  private hdrLen = 0;
  private msgLeft = 0;
  private compressed = false;
  /** Bytes of the current message that go on to the call (all of it, less streamed data). */
  private kept: Buffer[] = [];
  private keptLen = 0;
  /** `keptLen` where the current field's tag began (where a streamed data field is cut). */
  private tagMark = 0;
  // Protobuf field parsing within the current message.
  private fstate: 'tag' | 'varint' | 'len' | 'bytes' | 'skip' | 'data' = 'tag';
  private varint = 0;
  private varShift = 1;
  private field = 0;
  private wire = 0;
  private bytesLeft = 0;
  private collect: Buffer[] | undefined;
  /** The data field now being read is cut out of the message (it goes to the writer). */
  private streaming = false;
  /** ... and its pieces still go to the writer (false once appending failed). */
  private sink = false;
  private msg!: { action: number; offset: number; refBytes: number; ref: Buffer[]; expected: boolean; rec?: TapRecord; badOrder: boolean };

  private ref = '';

  /** The receive limit (-1: none): a message above it is refused whole. */
  private constructor(private readonly maxLen = -1) {}

  /** The session's ref, once known (the first message). */
  withRef(ref: string): this {
    this.ref = ref;
    return this;
  }

  /**
   * Takes the call's raw request bytes. The call allows it only at a message boundary with
   * nothing decoded yet, so message indexes line up with the handler's.
   */
  static install(call: Pick<ServerCall, 'takeRequestBytes'>): WriteTap | undefined {
    let tap: WriteTap | undefined;
    return call.takeRequestBytes((max) => (tap = new WriteTap(max))) ? tap : undefined;
  }

  /** The record of message `index` (0-based within the stream), if its data was streamed. */
  take(index: number): TapRecord | undefined {
    const r = this.records.get(index);
    if (r) this.records.delete(index);
    return r;
  }

  /** RequestFramer's contract: the framed messages (5-byte prefix + body) completed by `data`. */
  push(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < data.length) {
      if (this.msgLeft === 0) {
        const n = Math.min(5 - this.hdrLen, data.length - i);
        data.copy(this.hdr, this.hdrLen, i, i + n);
        this.hdrLen += n;
        i += n;
        if (this.hdrLen < 5) break;
        this.hdrLen = 0;
        this.compressed = this.hdr[0] !== 0;
        this.msgLeft = this.hdr.readUInt32BE(1);
        // The decoder's own check and message: the call ends with RESOURCE_EXHAUSTED.
        if (this.maxLen !== -1 && this.msgLeft > this.maxLen) throw new Error(`Received message larger than max (${this.msgLeft} vs ${this.maxLen})`);
        this.started++;
        this.fstate = this.compressed ? 'skip' : 'tag';
        this.bytesLeft = this.msgLeft;
        this.msg = { action: 0, offset: 0, refBytes: 0, ref: [], expected: false, badOrder: false };
        this.varint = 0;
        this.varShift = 1;
        if (this.msgLeft === 0) out.push(this.endMessage());
        continue;
      }
      const n = Math.min(this.msgLeft, data.length - i);
      this.fields(data, i, i + n);
      i += n;
      this.msgLeft -= n;
      if (this.msgLeft === 0) out.push(this.endMessage());
    }
    return out;
  }

  private keep(b: Buffer): void {
    if (b.length === 0) return;
    this.kept.push(b);
    this.keptLen += b.length;
  }

  /** Drops kept bytes from the end until `len` remain. */
  private cutTo(len: number): void {
    while (this.keptLen > len) {
      const last = this.kept.pop()!;
      const over = this.keptLen - len;
      this.keptLen -= last.length;
      if (over < last.length) this.keep(last.subarray(0, last.length - over));
    }
  }

  /** Parses protobuf bytes [i, end) of the current message. */
  private fields(b: Buffer, i: number, end: number): void {
    // Start of the bytes of this range that go on to the call.
    let seg = i;
    while (i < end) {
      switch (this.fstate) {
        case 'skip':
          // Rest of a message the tap does not follow: passed on whole.
          i = end;
          break;
        case 'tag':
        case 'varint':
        case 'len': {
          if (this.fstate === 'tag' && this.varShift === 1) this.tagMark = this.keptLen + (i - seg);
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
            if (this.field === 6) {
              this.startData(v);
              if (this.streaming) {
                // Cut the data field (tag and length included) out of what the call decodes.
                this.keep(b.subarray(seg, i));
                this.cutTo(this.tagMark);
                seg = i;
              }
            } else this.fstate = v === 0 ? 'tag' : 'bytes';
          }
          break;
        }
        case 'bytes':
        case 'data': {
          const n = Math.min(this.bytesLeft, end - i);
          if (this.fstate === 'data') {
            if (this.sink) this.append(b.subarray(i, i + n));
          } else if (this.collect && this.collect.reduce((a, x) => a + x.length, 0) < 4096) this.collect.push(b.subarray(i, i + n));
          i += n;
          if (this.streaming) seg = i;
          this.bytesLeft -= n;
          if (this.bytesLeft === 0) {
            if (this.fstate === 'data' && this.streaming) {
              this.streaming = false;
              if (this.sink) this.msg.rec!.done = this.target!.flushed();
              this.sink = false;
            }
            this.fstate = 'tag';
          }
          break;
        }
      }
    }
    this.keep(b.subarray(seg, end));
  }

  private append(piece: Buffer): void {
    try {
      this.target!.append(piece);
    } catch (e) {
      // The writer failed or closed: the rest of this data is dropped and the handler fails the stream.
      this.dead = true;
      this.sink = false;
      this.msg.rec!.broken = `streaming WRITE data failed: ${(e as Error).message}`;
      this.msg.rec!.writerError = e;
    }
  }

  /** At the data field's length: stream it if the message qualifies, else pass it on. */
  private startData(len: number): void {
    this.fstate = len === 0 ? 'tag' : 'data';
    const t = this.target;
    const index = this.started - 1;
    if (this.dead || len < TAP_MIN_DATA || !t || this.msg.rec || this.msg.action !== 1 || this.msg.expected || this.handled !== index) return;
    if (this.msg.refBytes && Buffer.concat(this.msg.ref).toString() !== this.ref) return;
    if (this.msg.offset !== t.accepted) return;
    this.msg.rec = { offset: this.msg.offset, length: len };
    this.records.set(index, this.msg.rec);
    this.streaming = true;
    this.sink = true;
  }

  /** The framed message the call decodes: the original bytes, less the streamed data field. */
  private endMessage(): Buffer {
    const rec = this.msg.rec;
    if (rec) {
      if (this.msg.badOrder) rec.broken = 'fields after data in a streamed WRITE';
      else if (this.fstate !== 'tag') rec.broken = 'truncated field in a streamed WRITE';
    }
    this.fstate = 'tag';
    this.streaming = false;
    this.sink = false;
    const head = Buffer.allocUnsafe(5);
    head[0] = this.compressed ? 1 : 0;
    head.writeUInt32BE(this.keptLen, 1);
    const msg = Buffer.concat([head, ...this.kept], 5 + this.keptLen);
    this.kept = [];
    this.keptLen = 0;
    return msg;
  }
}
