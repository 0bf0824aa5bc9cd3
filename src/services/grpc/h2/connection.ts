/**
 * The server side of one HTTP/2 connection (RFC 9113), only as much as gRPC over h2c needs:
 * frames, HPACK, both directions of flow control, PING, SETTINGS, RST_STREAM and GOAWAY.
 *
 * Why not node:http2: every stream there is a Duplex with its own headers objects and event
 * plumbing; a unary gRPC call cost ~190 µs of server CPU on it (and ~270-295 through grpc-js,
 * ~115 here), more than the handler itself for most containerd calls. Here a call is a few frames parsed from the
 * socket's chunks and written back in one write. DATA payloads are handed on as slices of the
 * socket's chunks while a frame is still arriving, so ingest never copies or waits for a frame.
 */
import type { Socket } from 'node:net';
import { Outbox } from './outbox';
import { H2Stream } from './stream';
import { type HeaderList, HpackDecoder, HpackError } from './hpack';
import { ACK, CONN_WINDOW, DEFAULT_WINDOW, END_HEADERS, END_STREAM, Frame, type FrameType, H2Error, LOCAL_MAX_FRAME, PADDED, PREFACE, PRIORITY_FLAG, STREAM_WINDOW } from './frames';

/** Streams one connection may have open at once (advertised; more are refused). */
const MAX_STREAMS = 1000;

class ConnectionError extends Error {
  constructor(
    readonly h2code: number,
    message: string,
  ) {
    super(message);
  }
}

export type OnStream = (stream: H2Stream, headers: HeaderList) => void;

export class H2Connection {
  readonly streams = new Map<number, H2Stream>();
  /** Peer's settings and our send windows. */
  peerMaxFrame = 16384;
  private peerInitialWindow = DEFAULT_WINDOW;
  private connSendWindow = DEFAULT_WINDOW;
  /** Streams with DATA waiting for window. */
  private readonly blocked = new Set<H2Stream>();
  /** Received bytes not yet credited back on the connection, and what the client may still send. */
  private connUncredited = 0;
  private connRecvWindow = CONN_WINDOW;
  private lastStreamId = 0;
  private readonly hpack = new HpackDecoder();
  private pending: Buffer | undefined;
  private preface = true;
  /** A DATA frame whose payload is still arriving. */
  private data: { stream: H2Stream | undefined; left: number; pad: number; end: boolean } | undefined;
  /** A header block continued in CONTINUATION frames. */
  private headerBlock: { id: number; flags: number; parts: Buffer[] } | undefined;
  private readonly outbox: Outbox;
  private goingAway = false;
  closed = false;

  constructor(
    readonly socket: Socket,
    private readonly onStream: OnStream,
    private readonly onClose: () => void,
  ) {
    this.outbox = new Outbox(socket);
    const settings = Buffer.alloc(18);
    settings.writeUInt16BE(0x4, 0); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(STREAM_WINDOW, 2);
    settings.writeUInt16BE(0x5, 6); // MAX_FRAME_SIZE
    settings.writeUInt32BE(LOCAL_MAX_FRAME, 8);
    settings.writeUInt16BE(0x3, 12); // MAX_CONCURRENT_STREAMS: bounds what one client can hold open
    settings.writeUInt32BE(MAX_STREAMS, 14);
    this.frame(Frame.SETTINGS, 0, 0, settings);
    this.windowUpdate(0, CONN_WINDOW - DEFAULT_WINDOW);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  /** Queues one frame; everything queued in this tick goes out in one write. */
  frame(type: FrameType, flags: number, id: number, payload?: Buffer): void {
    this.outbox.frame(type, flags, id, payload);
  }

  windowUpdate(id: number, inc: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(inc, 0);
    this.frame(Frame.WINDOW_UPDATE, 0, id, b);
  }

  /** Sends what the windows allow of a stream's queued DATA (and its trailers once the queue is empty). */
  pump(s: H2Stream): void {
    while (s.queue.length && s.sendWindow > 0 && this.connSendWindow > 0) {
      const head = s.queue[0];
      const n = Math.min(head.length, s.sendWindow, this.connSendWindow, this.peerMaxFrame);
      const piece = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) s.queue.shift();
      else s.queue[0] = head.subarray(n);
      s.queued -= n;
      s.sendWindow -= n;
      this.connSendWindow -= n;
      this.frame(Frame.DATA, 0, s.id, piece);
    }
    if (s.queue.length) {
      this.blocked.add(s);
      return;
    }
    this.blocked.delete(s);
    s.queueDrained();
  }

  private pumpBlocked(): void {
    for (const s of this.blocked) {
      if (this.connSendWindow <= 0) return;
      this.pump(s);
    }
  }

  /** A stream is done on our side: forget it (later frames for it only count against the connection window). */
  forget(s: H2Stream): void {
    this.streams.delete(s.id);
    this.blocked.delete(s);
    if (this.goingAway && this.streams.size === 0) this.socket.end();
  }

  /** Graceful shutdown: no new streams; the socket ends once the open ones are done. */
  goAway(): void {
    if (this.closed || this.goingAway) return;
    this.goingAway = true;
    this.sendGoAway(H2Error.NO_ERROR);
    if (this.streams.size === 0) process.nextTick(() => this.socket.end());
  }

  private sendGoAway(code: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32BE(this.lastStreamId, 0);
    b.writeUInt32BE(code, 4);
    this.frame(Frame.GOAWAY, 0, 0, b);
  }

  destroy(): void {
    if (this.closed) return;
    this.outbox.close();
    this.closed = true;
    this.socket.destroy();
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const s of streams) s.peerReset(H2Error.CANCEL);
    this.onClose();
  }

  private fail(e: unknown): void {
    const code = e instanceof ConnectionError ? e.h2code : e instanceof HpackError ? H2Error.COMPRESSION_ERROR : H2Error.INTERNAL_ERROR;
    this.sendGoAway(code);
    this.destroy();
  }

  private receive(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let i = 0;
    try {
      if (this.preface) {
        if (buf.length < PREFACE.length) {
          if (!PREFACE.subarray(0, buf.length).equals(buf)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 client preface');
          this.pending = buf;
          return;
        }
        if (!PREFACE.equals(buf.subarray(0, PREFACE.length))) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 client preface');
        this.preface = false;
        i = PREFACE.length;
      }
      while (!this.closed) {
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
        if (len > LOCAL_MAX_FRAME) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${len} bytes`);
        if (this.headerBlock && type !== Frame.CONTINUATION) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'expected CONTINUATION');
        if (type === Frame.DATA) {
          const padded = (flags & PADDED) !== 0;
          if (padded && buf.length - i < 10) break;
          const pad = padded ? buf[i + 9] : 0;
          if (pad + (padded ? 1 : 0) > len) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padding exceeds the frame');
          i += padded ? 10 : 9;
          this.startData(id, len, padded ? pad + 1 : 0, pad, (flags & END_STREAM) !== 0);
          continue;
        }
        if (buf.length - i < 9 + len) break;
        const payload = buf.subarray(i + 9, i + 9 + len);
        i += 9 + len;
        this.control(type, flags, id, payload);
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    if (i < buf.length && !this.closed) this.pending = buf.subarray(i);
  }

  private startData(id: number, len: number, padOverhead: number, pad: number, end: boolean): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    const s = this.streams.get(id);
    // A client that ignores our windows could make a paused stream buffer without bound.
    this.connRecvWindow -= len;
    if (this.connRecvWindow < 0) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.credit(len);
    if (s) {
      if (s.remoteClosed) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `DATA after END_STREAM on stream ${id}`);
      s.recvWindow -= len;
      if (s.recvWindow < 0) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, `DATA beyond the window of stream ${id}`);
      // Padding is never seen by the stream: credit it back at once.
      if (padOverhead) s.credit(padOverhead);
    }
    // `left` counts what follows the pad-length byte: the data, then `pad` bytes of padding.
    this.data = { stream: s, left: len - (padOverhead ? 1 : 0), pad, end };
    if (this.data.left === 0) this.endData();
  }

  /** Hands a DATA payload's bytes on as they arrive; returns where in `buf` it stopped. */
  private receiveData(buf: Buffer, i: number): number {
    const d = this.data!;
    const payload = d.left - d.pad;
    if (payload > 0) {
      const n = Math.min(payload, buf.length - i);
      if (n > 0) {
        d.left -= n;
        if (d.stream && !d.stream.remoteClosed) d.stream.receive(n === buf.length && i === 0 ? buf : buf.subarray(i, i + n));
        i += n;
      }
    }
    if (d.left > d.pad) return i;
    const skip = Math.min(d.left, buf.length - i);
    d.left -= skip;
    i += skip;
    if (d.left === 0) this.endData();
    return i;
  }

  private endData(): void {
    const d = this.data!;
    this.data = undefined;
    if (d.end && d.stream && !d.stream.remoteClosed) d.stream.remoteEnd();
  }

  /** Connection-level credit is given back as soon as bytes arrive: streams bound what is buffered. */
  private credit(n: number): void {
    this.connUncredited += n;
    if (this.connUncredited >= CONN_WINDOW / 4) {
      this.windowUpdate(0, this.connUncredited);
      this.connRecvWindow += this.connUncredited;
      this.connUncredited = 0;
    }
  }

  private control(type: number, flags: number, id: number, p: Buffer): void {
    switch (type) {
      case Frame.HEADERS: {
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
        if (flags & END_HEADERS) this.headers(id, flags, part);
        else this.headerBlock = { id, flags, parts: [Buffer.from(part)] };
        return;
      }
      case Frame.CONTINUATION: {
        const hb = this.headerBlock;
        if (!hb || hb.id !== id) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'unexpected CONTINUATION');
        hb.parts.push(Buffer.from(p));
        if (hb.parts.length > 64) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'header block too long');
        if (flags & END_HEADERS) {
          this.headerBlock = undefined;
          this.headers(id, hb.flags, Buffer.concat(hb.parts));
        }
        return;
      }
      case Frame.SETTINGS:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
        if (flags & ACK) return;
        if (p.length % 6) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS length');
        for (let j = 0; j < p.length; j += 6) this.setting(p.readUInt16BE(j), p.readUInt32BE(j + 2));
        this.frame(Frame.SETTINGS, ACK, 0);
        this.pumpBlocked();
        return;
      case Frame.PING:
        if (p.length !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PING length');
        if (!(flags & ACK)) this.outbox.ack(Buffer.from(p));
        return;
      case Frame.WINDOW_UPDATE: {
        if (p.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
        const inc = p.readUInt32BE(0) & 0x7fffffff;
        if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
        if (id === 0) {
          this.connSendWindow += inc;
          if (this.connSendWindow > 0x7fffffff) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
          this.pumpBlocked();
        } else {
          const s = this.streams.get(id);
          if (s && !s.widen(inc)) {
            s.reset(H2Error.FLOW_CONTROL_ERROR);
            s.peerReset(H2Error.FLOW_CONTROL_ERROR);
          } else if (s) this.pump(s);
        }
        return;
      }
      case Frame.RST_STREAM: {
        const s = this.streams.get(id);
        if (s) {
          this.forget(s);
          s.peerReset(p.length >= 4 ? p.readUInt32BE(0) : H2Error.CANCEL);
        }
        return;
      }
      case Frame.GOAWAY:
        this.goAway();
        return;
      case Frame.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      default:
        return; // PRIORITY and unknown frame types are ignored (RFC 9113 §5.5)
    }
  }

  private setting(key: number, value: number): void {
    if (key === 0x4) {
      if (value > 0x7fffffff) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
      const delta = value - this.peerInitialWindow;
      this.peerInitialWindow = value;
      for (const s of this.streams.values()) s.sendWindow += delta;
    } else if (key === 0x5) {
      if (value < 16384 || value > 16777215) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad MAX_FRAME_SIZE');
      this.peerMaxFrame = value;
    }
    // HEADER_TABLE_SIZE does not matter (the encoder never indexes); the rest are advisory.
  }

  private headers(id: number, flags: number, block: Buffer): void {
    // Always decode: the HPACK table must stay in step even for streams that are refused.
    const headers = this.hpack.decode(block);
    const existing = this.streams.get(id);
    if (existing) {
      // Trailers from the client: gRPC sends none, but END_STREAM still ends the stream.
      if (flags & END_STREAM) existing.remoteEnd();
      return;
    }
    if (id % 2 === 0 || id <= this.lastStreamId) {
      // A stream we already forgot (finished, then the client sent more): ignore it.
      if (id % 2 === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `even stream id ${id}`);
      return;
    }
    this.lastStreamId = id;
    if (this.goingAway || this.streams.size >= MAX_STREAMS) {
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(H2Error.REFUSED_STREAM, 0);
      this.frame(Frame.RST_STREAM, 0, id, b);
      return;
    }
    const s = new H2Stream(this, id, this.peerInitialWindow);
    this.streams.set(id, s);
    this.onStream(s, headers);
    if (flags & END_STREAM) s.remoteEnd();
  }
}
