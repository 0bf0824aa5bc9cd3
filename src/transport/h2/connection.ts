/**
 * The server side of one HTTP/2 connection (RFC 9113), only as much as gRPC over h2c needs:
 * frames, HPACK, both directions of flow control, PING, SETTINGS, RST_STREAM and GOAWAY.
 *
 * Why not node:http2: every stream there is a Duplex with its own headers objects and event
 * plumbing; a unary gRPC call cost ~190 µs of server CPU on it (~270-295 through grpc-js, ~115
 * here), more than the handler itself for most containerd calls. Here a call is a few frames
 * split from the socket's chunks (reader.ts, which hands DATA on as slices while a frame is still
 * arriving) and written back in one write (outbox.ts).
 */
import type { Socket } from 'node:net';
import { Outbox } from './outbox';
import { ConnectionError, FrameReader } from './reader';
import { H2Stream } from './stream';
import { type HeaderList, HpackDecoder, HpackError } from './hpack';
import { ACK, CONN_WINDOW, DEFAULT_WINDOW, Frame, type FrameType, H2Error, LOCAL_MAX_FRAME, STREAM_WINDOW } from './frames';

/** Streams one connection may have open at once (advertised; more are refused). */
const MAX_STREAMS = 1000;

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
  private readonly reader: FrameReader;
  /** The stream of the DATA frame now arriving (undefined: one we forgot, or none). */
  private dataStream: H2Stream | undefined;
  private readonly outbox: Outbox;
  private goingAway = false;
  closed = false;

  constructor(
    readonly socket: Socket,
    private readonly onStream: OnStream,
    private readonly onClose: () => void,
  ) {
    this.outbox = new Outbox(socket);
    this.reader = new FrameReader(
      {
        dataStart: (id, frameLen, dataLen) => this.startData(id, frameLen, dataLen),
        data: (chunk) => {
          const st = this.dataStream;
          if (st && !st.remoteClosed) st.receive(chunk);
        },
        dataEnd: (end) => {
          const st = this.dataStream;
          this.dataStream = undefined;
          if (end && st && !st.remoteClosed) st.remoteEnd();
        },
        headers: (id, endStream, block) => this.headers(id, endStream, block),
        control: (type, flags, id, payload) => this.control(type, flags, id, payload),
      },
      LOCAL_MAX_FRAME,
      true,
      () => this.closed,
    );
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
    try {
      this.reader.push(chunk);
    } catch (e) {
      this.fail(e);
    }
  }

  private startData(id: number, len: number, dataLen: number): void {
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
      if (len > dataLen) s.credit(len - dataLen);
    }
    this.dataStream = s;
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

  private headers(id: number, endStream: boolean, block: Buffer): void {
    // Always decode: the HPACK table must stay in step even for streams that are refused.
    const headers = this.hpack.decode(block);
    const existing = this.streams.get(id);
    if (existing) {
      // Trailers from the client: gRPC sends none, but END_STREAM still ends the stream.
      if (endStream) existing.remoteEnd();
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
    if (endStream) s.remoteEnd();
  }
}
