/**
 * Splits the bytes of one HTTP/2 connection into frames, for both ends (the server's connection
 * and berth's client channel). DATA payloads are handed on as slices of the socket's chunks while
 * a frame is still arriving (no copy, no wait for the whole frame), padding stripped; header
 * blocks are reassembled across CONTINUATION frames; every other frame comes whole.
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
  dataStart(id: number, frameLen: number, dataLen: number): void;
  data(chunk: Buffer): void;
  /** The DATA frame ended; `end`: it carried END_STREAM. */
  dataEnd(end: boolean): void;
  /** A whole header block (HEADERS plus any CONTINUATIONs), padding and priority removed. */
  headers(id: number, endStream: boolean, block: Buffer): void;
  /** Any other frame, whole. */
  control(type: number, flags: number, id: number, payload: Buffer): void;
}

/** Header blocks may span this many frames at most. */
const MAX_BLOCK_PARTS = 64;

export class FrameReader {
  private pending: Buffer | undefined;
  private data: { left: number; pad: number; end: boolean } | undefined;
  private block: { id: number; end: boolean; parts: Buffer[] } | undefined;

  /** `preface`: expect the client connection preface first (the server's side). */
  constructor(
    private readonly sink: FrameSink,
    private readonly maxFrame: number,
    private preface: boolean,
    private readonly stopped: () => boolean = () => false,
  ) {}

  /** Feeds one chunk from the socket; throws ConnectionError (or the sink's errors). */
  push(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let i = 0;
    if (this.preface) {
      const n = Math.min(buf.length, PREFACE.length);
      if (!PREFACE.subarray(0, n).equals(buf.subarray(0, n))) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 client preface');
      if (n < PREFACE.length) {
        this.pending = buf;
        return;
      }
      this.preface = false;
      i = PREFACE.length;
    }
    while (!this.stopped()) {
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
      if (len > this.maxFrame) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${len} bytes`);
      if (this.block && type !== Frame.CONTINUATION) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'expected CONTINUATION');
      if (type === Frame.DATA) {
        const padded = (flags & PADDED) !== 0;
        if (padded && buf.length - i < 10) break;
        const pad = padded ? buf[i + 9] : 0;
        if (pad + (padded ? 1 : 0) > len) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padding exceeds the frame');
        i += padded ? 10 : 9;
        // `left` counts what follows the pad-length byte: the data, then `pad` bytes of padding.
        const left = len - (padded ? 1 : 0);
        this.sink.dataStart(id, len, left - pad);
        this.data = { left, pad, end: (flags & END_STREAM) !== 0 };
        if (left === 0) this.endData();
        continue;
      }
      if (buf.length - i < 9 + len) break;
      const payload = buf.subarray(i + 9, i + 9 + len);
      i += 9 + len;
      if (type === Frame.HEADERS || type === Frame.CONTINUATION) this.headerFrame(type, flags, id, payload);
      else this.sink.control(type, flags, id, payload);
    }
    if (i < buf.length && !this.stopped()) this.pending = buf.subarray(i);
  }

  /** Hands a DATA payload's bytes on as they arrive; returns where in `buf` it stopped. */
  private receiveData(buf: Buffer, i: number): number {
    const d = this.data!;
    const n = Math.min(d.left - d.pad, buf.length - i);
    if (n > 0) {
      d.left -= n;
      this.sink.data(n === buf.length && i === 0 ? buf : buf.subarray(i, i + n));
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
    const end = this.data!.end;
    this.data = undefined;
    this.sink.dataEnd(end);
  }

  private headerFrame(type: number, flags: number, id: number, p: Buffer): void {
    if (type === Frame.HEADERS) {
      if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
      let start = 0;
      let end = p.length;
      if (flags & PADDED) {
        end -= p[0];
        start = 1;
      }
      if (flags & PRIORITY_FLAG) start += 5;
      if (start > end) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad HEADERS padding');
      const part = p.subarray(start, end);
      const endStream = (flags & END_STREAM) !== 0;
      if (flags & END_HEADERS) this.sink.headers(id, endStream, part);
      else this.block = { id, end: endStream, parts: [Buffer.from(part)] };
      return;
    }
    const b = this.block;
    if (!b || b.id !== id) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    b.parts.push(Buffer.from(p));
    if (b.parts.length > MAX_BLOCK_PARTS) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'header block too long');
    if (flags & END_HEADERS) {
      this.block = undefined;
      this.sink.headers(id, b.end, Buffer.concat(b.parts));
    }
  }
}
