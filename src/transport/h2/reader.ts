/**
 * Splits the bytes of one HTTP/2 connection into frames, for both ends (the server's connection
 * and berth's client channel). DATA payloads are handed on as slices of the socket's chunks while
 * a frame is still arriving (no copy, no wait for the whole frame), padding stripped; header
 * blocks are reassembled across CONTINUATION frames, refused unread once they pass their bounds;
 * every other frame comes whole. While `hold()` says so, it stops at a frame boundary and keeps
 * the rest until resume().
 */
import { END_HEADERS, END_STREAM, Frame, H2Error, PADDED, PREFACE, PRIORITY_FLAG } from './frames';

/** A connection error (RFC 9113 §5.4.1): the peer gets GOAWAY with `h2code`. */
export class ConnectionError extends Error {
  constructor(
    readonly h2code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface FrameSink {
  /** A DATA frame starts: `frameLen` counts against flow control, `dataLen` of it is data. */
  dataStart(id: number, frameLen: number, dataLen: number, endStream: boolean): void;
  data(chunk: Buffer): void;
  /** The DATA frame ended; `end`: it carried END_STREAM. */
  dataEnd(end: boolean): void;
  /**
   * A whole header block (HEADERS plus any CONTINUATIONs), padding and priority removed;
   * `selfDependent`: its priority names its own stream (a stream error, RFC 9113 §5.3.1).
   */
  headers(id: number, endStream: boolean, block: Buffer, selfDependent: boolean): void;
  /** Any other frame, whole (and an empty CONTINUATION, type CONTINUATION with no payload). */
  control(type: number, flags: number, id: number, payload: Buffer): void;
}

export interface ReaderLimits {
  /** Our SETTINGS_MAX_FRAME_SIZE. */
  maxFrame: number;
  /** Encoded bytes and frames one header block may take. */
  maxBlock: number;
  maxBlockFrames: number;
}

/** Types the reader knows; others are ignored (RFC 9113 §5.5), their payload skipped unbuffered. */
const KNOWN_TYPES = 10;
/** SETTINGS frames longer than this many bytes (64 settings) are refused unread. */
const MAX_SETTINGS_BYTES = 6 * 64;

export class FrameReader {
  private pending: Buffer | undefined;
  /** A whole frame is awaited: its pieces are collected and joined once, when `need` bytes are in. */
  private parts: Buffer[] = [];
  private partsLen = 0;
  private need = 0;
  private data: { left: number; pad: number; end: boolean; discard: boolean } | undefined;
  private block: { id: number; end: boolean; selfDependent: boolean; parts: Buffer[]; bytes: number; frames: number } | undefined;

  /** `preface`: expect the client connection preface first (the server's side). */
  constructor(
    private readonly sink: FrameSink,
    private readonly limits: ReaderLimits,
    private preface: boolean,
    private readonly hold: () => boolean = () => false,
  ) {}

  /**
   * Feeds one chunk from the socket; true if it stopped because `hold()` said so (the rest is
   * kept for resume()). Throws ConnectionError (or the sink's errors).
   */
  push(chunk: Buffer): boolean {
    if (this.need) {
      this.parts.push(chunk);
      this.partsLen += chunk.length;
      if (this.partsLen < this.need) return false;
      chunk = Buffer.concat(this.parts, this.partsLen);
      this.parts = [];
      this.partsLen = 0;
      this.need = 0;
    }
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let i = 0;
    if (this.preface) {
      const n = Math.min(buf.length, PREFACE.length);
      if (!PREFACE.subarray(0, n).equals(buf.subarray(0, n))) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 client preface');
      if (n < PREFACE.length) {
        this.pending = buf;
        return false;
      }
      this.preface = false;
      i = PREFACE.length;
    }
    let held = false;
    for (;;) {
      if (this.hold()) {
        held = true;
        break;
      }
      if (this.data) {
        i = this.receiveData(buf, i);
        if (this.data) break; // chunk used up inside the payload
        continue;
      }
      if (buf.length - i < 9) break;
      const len = (buf[i] << 16) | (buf[i + 1] << 8) | buf[i + 2];
      const type = buf[i + 3];
      const flags = buf[i + 4];
      const id = buf.readUInt32BE(i + 5) & 0x7fffffff;
      if (len > this.limits.maxFrame) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${len} bytes`);
      if (this.block && type !== Frame.CONTINUATION) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'expected CONTINUATION');
      if (type === Frame.DATA) {
        const padded = (flags & PADDED) !== 0;
        if (padded && len === 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'padded DATA without a pad length');
        if (padded && buf.length - i < 10) break;
        const pad = padded ? buf[i + 9] : 0;
        if (pad + (padded ? 1 : 0) > len) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padding exceeds the frame');
        i += padded ? 10 : 9;
        // `left` counts what follows the pad-length byte: the data, then `pad` bytes of padding.
        const left = len - (padded ? 1 : 0);
        const end = (flags & END_STREAM) !== 0;
        this.sink.dataStart(id, len, left - pad, end);
        this.data = { left, pad, end, discard: false };
        if (left === 0) this.endData();
        continue;
      }
      if (type >= KNOWN_TYPES) {
        this.sink.control(type, flags, id, Buffer.alloc(0));
        i += 9;
        this.data = { left: len, pad: 0, end: false, discard: true };
        if (len === 0) this.data = undefined;
        continue;
      }
      // Refused before its payload is buffered.
      if (type === Frame.HEADERS && len > this.limits.maxBlock)
        throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `header block above ${this.limits.maxBlock} bytes`);
      if (type === Frame.CONTINUATION && this.block && this.block.bytes + len > this.limits.maxBlock)
        throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `header block above ${this.limits.maxBlock} bytes`);
      if (type === Frame.SETTINGS && len > MAX_SETTINGS_BYTES) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `SETTINGS of ${len} bytes`);
      if (buf.length - i < 9 + len) {
        if (len > 65536) {
          // Large: collect the rest in pieces instead of joining every chunk to what came before.
          this.parts = [buf.subarray(i)];
          this.partsLen = buf.length - i;
          this.need = 9 + len;
          return false;
        }
        break;
      }
      const payload = buf.subarray(i + 9, i + 9 + len);
      i += 9 + len;
      if (type === Frame.HEADERS || type === Frame.CONTINUATION) this.headerFrame(type, flags, id, payload);
      else this.sink.control(type, flags, id, payload);
    }
    if (i < buf.length) this.pending = buf.subarray(i);
    return held;
  }

  /** Goes on with what was kept while held (push()'s result). */
  resume(): boolean {
    return this.pending ? this.push(Buffer.alloc(0)) : false;
  }

  /** Hands a DATA payload's bytes on as they arrive; returns where in `buf` it stopped. */
  private receiveData(buf: Buffer, i: number): number {
    const d = this.data!;
    const n = Math.min(d.left - d.pad, buf.length - i);
    if (n > 0) {
      d.left -= n;
      if (!d.discard) this.sink.data(n === buf.length && i === 0 ? buf : buf.subarray(i, i + n));
      i += n;
    }
    if (d.left > d.pad) return i;
    const skip = Math.min(d.left, buf.length - i);
    d.left -= skip;
    i += skip;
    if (d.left === 0) this.endData();
    return i;
  }

  private endData(): void {
    const { end, discard } = this.data!;
    this.data = undefined;
    if (!discard) this.sink.dataEnd(end);
  }

  private headerFrame(type: number, flags: number, id: number, p: Buffer): void {
    if (type === Frame.HEADERS) {
      if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
      let start = 0;
      let end = p.length;
      if (flags & PADDED) {
        if (p.length < 1) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'padded HEADERS without a pad length');
        end -= p[0];
        start = 1;
      }
      let selfDependent = false;
      if (flags & PRIORITY_FLAG) {
        if (p.length < start + 5) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
        selfDependent = (p.readUInt32BE(start) & 0x7fffffff) === id;
        start += 5;
      }
      if (start > end) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad HEADERS padding');
      const part = p.subarray(start, end);
      const endStream = (flags & END_STREAM) !== 0;
      if (flags & END_HEADERS) this.sink.headers(id, endStream, part, selfDependent);
      else {
        this.block = { id, end: endStream, selfDependent, parts: [], bytes: 0, frames: 0 };
        this.addPart(part);
      }
      return;
    }
    const b = this.block;
    if (!b || b.id !== id) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    if (p.length === 0) this.sink.control(Frame.CONTINUATION, flags, id, p);
    this.addPart(p);
    if (flags & END_HEADERS) {
      this.block = undefined;
      this.sink.headers(id, b.end, b.parts.length === 1 ? b.parts[0] : Buffer.concat(b.parts, b.bytes), b.selfDependent);
    }
  }

  /** One more piece of the block being assembled (copied: it outlives the socket chunk's frame). */
  private addPart(p: Buffer): void {
    const b = this.block!;
    b.bytes += p.length;
    if (b.bytes > this.limits.maxBlock) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `header block above ${this.limits.maxBlock} bytes`);
    if (++b.frames > this.limits.maxBlockFrames)
      throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `header block in more than ${this.limits.maxBlockFrames} frames`);
    if (p.length) b.parts.push(Buffer.from(p));
  }
}
