/**
 * The server side of one HTTP/2 connection (RFC 9113), only as much as gRPC over h2c needs:
 * frames, HPACK, both directions of flow control, PING, SETTINGS, RST_STREAM and GOAWAY, with
 * bounds on everything a peer can make the server hold (limits.ts). Frames are split from the
 * socket's chunks (reader.ts hands DATA on as slices while a frame is still arriving) and the
 * frames of one tick go out in one write (outbox.ts); inbound.ts judges each frame.
 */
import type { Socket } from 'node:net';
import { Calm } from './calm';
import { Outbox } from './outbox';
import { ConnectionError, FrameReader } from './reader';
import { H2Stream } from './stream';
import { type HeaderList, HpackDecoder, HpackError } from './hpack';
import { DEFAULT_MAX_FRAME, DEFAULT_WINDOW, Frame, type FrameType, H2Error, MAX_WINDOW, Setting, settingsPayload } from './frames';
import {
  CONN_WINDOW,
  CONTROL_REPLY_BOUND,
  INITIAL_STREAM_WINDOW,
  KEEPALIVE_MS,
  KEEPALIVE_TIMEOUT_MS,
  LINGER_BYTES,
  LINGER_MS,
  LOCAL_MAX_FRAME,
  MAX_BLOCK_FRAMES,
  MAX_HEADER_BLOCK,
  MAX_HEADER_LIST,
  MAX_STREAMS,
  RESET_MEMORY,
  STREAMS_PER_TURN,
  WINDOW_GROWTH_BUDGET,
  WRITE_BOUND,
} from './limits';
import { Inbound } from './inbound';

export interface ConnectionHooks {
  /** A new stream with a well-formed request header list. */
  onStream(stream: H2Stream, headers: HeaderList): void;
  onClose(): void;
}

export class H2Connection {
  readonly streams = new Map<number, H2Stream>();
  /** Peer's settings and our send windows. */
  peerMaxFrame = DEFAULT_MAX_FRAME;
  peerMaxHeaderList = Infinity;
  peerInitialWindow = DEFAULT_WINDOW;
  connSendWindow = DEFAULT_WINDOW;
  /** Streams with DATA waiting for window, and streams waiting for the socket to drain. */
  private readonly blocked = new Set<H2Stream>();
  private readonly drainWaiters = new Set<H2Stream>();
  /** Received bytes not yet credited back on the connection, and what the client may still send. */
  private connUncredited = 0;
  connRecvWindow = CONN_WINDOW;
  /** Window growth granted to streams (limits.ts WINDOW_GROWTH_BUDGET). */
  private growthUsed = 0;
  lastStreamId = 0;
  /** Recently closed streams: true if we reset them (their late frames are ignored, RFC 9113 §5.1). */
  readonly recentlyClosed = new Map<number, boolean>();
  readonly hpack = new HpackDecoder(4096, MAX_HEADER_LIST);
  readonly calm = new Calm();
  private readonly reader: FrameReader;
  readonly outbox: Outbox;
  goingAway = false;
  closed = false;
  /** Reading stopped (socket paused) while held; `held`: the application asked (handler slots). */
  private paused = false;
  private held = false;
  private resumeQueued = false;
  /** Streams started in this turn of the event loop (limits.ts STREAMS_PER_TURN). */
  private turnStreams = 0;
  private lastRead = Date.now();
  private keepalive: NodeJS.Timeout | undefined;
  private pingSentAt = 0;

  constructor(
    readonly socket: Socket,
    readonly hooks: ConnectionHooks,
  ) {
    this.outbox = new Outbox(socket, () => this.maybeResume());
    const inbound = new Inbound(this);
    this.reader = new FrameReader(inbound, { maxFrame: LOCAL_MAX_FRAME, maxBlock: MAX_HEADER_BLOCK, maxBlockFrames: MAX_BLOCK_FRAMES }, true, this.mustHold);
    const settings = settingsPayload([
      [Setting.MAX_CONCURRENT_STREAMS, MAX_STREAMS],
      [Setting.INITIAL_WINDOW_SIZE, INITIAL_STREAM_WINDOW],
      [Setting.MAX_FRAME_SIZE, LOCAL_MAX_FRAME],
      [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
    ]);
    this.frame(Frame.SETTINGS, 0, 0, settings);
    this.windowUpdate(0, CONN_WINDOW - DEFAULT_WINDOW);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.drained());
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    this.armKeepalive(KEEPALIVE_MS);
  }

  /** Queues one frame; everything queued in this tick goes out in one write. */
  frame(type: FrameType, flags: number, id: number, payload?: Buffer, reply = false): void {
    if (type === Frame.DATA) this.calm.sentSincePing = true;
    this.outbox.frame(type, flags, id, payload, reply);
  }

  /** A header block, split into CONTINUATION frames as the peer's SETTINGS_MAX_FRAME_SIZE requires. */
  headers(id: number, block: Buffer, flags: number): void {
    this.calm.sentSincePing = true;
    this.outbox.headers(id, block, flags, this.peerMaxFrame);
  }

  windowUpdate(id: number, inc: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(inc, 0);
    this.frame(Frame.WINDOW_UPDATE, 0, id, b);
  }

  /** RST_STREAM from us; `reply`: it answers a peer's error (counted among control replies). */
  resetStream(id: number, code: number, reply = false): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(code, 0);
    this.frame(Frame.RST_STREAM, 0, id, b, reply);
    this.closedStream(id, true);
  }

  /** Remembers how a stream closed, for the frames that may still arrive on it. */
  closedStream(id: number, resetByUs: boolean): void {
    if (this.recentlyClosed.size >= RESET_MEMORY) this.recentlyClosed.delete(this.recentlyClosed.keys().next().value!);
    this.recentlyClosed.set(id, resetByUs || this.recentlyClosed.get(id) === true);
  }

  /** A new stream started: after STREAMS_PER_TURN in one turn, reading waits for the next. */
  streamStarted(): void {
    if (this.turnStreams++ === 0)
      setImmediate(() => {
        this.turnStreams = 0;
        this.maybeResume();
      });
  }

  /** Grants up to `want` more window to a stream, from the connection's growth budget. */
  growWindow(want: number): number {
    const n = Math.max(0, Math.min(want, WINDOW_GROWTH_BUDGET - this.growthUsed));
    this.growthUsed += n;
    return n;
  }

  /** The stream's DATA queue or the socket is too full for more writes now. */
  congested(s: H2Stream, highWater: number): boolean {
    if (s.queued > highWater || this.outbox.pendingBytes > WRITE_BOUND) {
      s.wantDrain = true;
      this.drainWaiters.add(s);
      return true;
    }
    return false;
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
    this.notifyDrain(s);
  }

  pumpBlocked(): void {
    for (const s of this.blocked) {
      if (this.connSendWindow <= 0) return;
      this.pump(s);
    }
  }

  private notifyDrain(s: H2Stream): void {
    if (!s.wantDrain || this.outbox.pendingBytes > WRITE_BOUND) return;
    s.wantDrain = false;
    this.drainWaiters.delete(s);
    s.events?.drain();
  }

  private drained(): void {
    this.outbox.flush();
    for (const s of [...this.drainWaiters]) if (!s.queue.length) this.notifyDrain(s);
    this.maybeResume();
  }

  /** A stream is done on our side: forget it (later frames for it only count against the connection window). */
  forget(s: H2Stream): void {
    if (!this.streams.delete(s.id)) return;
    this.blocked.delete(s);
    this.drainWaiters.delete(s);
    this.growthUsed -= s.growth;
    this.closedStream(s.id, false);
    if (this.goingAway && this.streams.size === 0) this.finish();
  }

  /** Sends what is queued, then ends the socket (graceful close). */
  private finish(): void {
    this.outbox.close();
    this.socket.end();
  }

  /** The application holds reading (e.g. no handler slot is free); released with hold(false). */
  hold(on: boolean): void {
    this.held = on;
    if (!on) this.maybeResume();
  }

  /** Graceful shutdown: no new streams; the socket ends once the open ones are done. */
  goAway(): void {
    if (this.closed || this.goingAway) return;
    this.goingAway = true;
    this.sendGoAway(H2Error.NO_ERROR);
    if (this.streams.size === 0) this.finish();
  }

  sendGoAway(code: number, debug = ''): void {
    const d = Buffer.from(debug);
    const b = Buffer.allocUnsafe(8 + d.length);
    b.writeUInt32BE(this.lastStreamId, 0);
    b.writeUInt32BE(code, 4);
    d.copy(b, 8);
    this.frame(Frame.GOAWAY, 0, 0, b);
  }

  /** GOAWAY(ENHANCE_YOUR_CALM) and close: the peer floods. */
  calmDown(why: string): void {
    this.fail(new ConnectionError(H2Error.ENHANCE_YOUR_CALM, why));
  }

  destroy(): void {
    if (this.closed) return;
    this.outbox.close();
    this.socket.destroy();
    this.release();
  }

  /** Marks the connection closed and cancels its streams; the socket is the caller's to end. */
  private release(): void {
    this.closed = true;
    clearTimeout(this.keepalive);
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    this.drainWaiters.clear();
    for (const s of streams) s.peerReset(H2Error.CANCEL);
    this.hooks.onClose();
  }

  /** A connection error: GOAWAY with its code (written before the socket closes), then close. */
  fail(e: unknown): void {
    if (this.closed) return;
    const code = e instanceof ConnectionError ? e.h2code : e instanceof HpackError ? H2Error.COMPRESSION_ERROR : H2Error.INTERNAL_ERROR;
    this.sendGoAway(code, code === H2Error.ENHANCE_YOUR_CALM && e instanceof Error ? e.message : '');
    this.finish();
    this.release();
    this.linger();
  }

  /**
   * After a connection error the socket is half-closed, not destroyed: destroying would drop a
   * GOAWAY still in the write buffer, and closing with unread input makes the kernel reset the peer,
   * which may then never read why. Input is discarded for at most LINGER_MS and LINGER_BYTES
   * (nginx's lingering close), so a peer that floods without reading is cut off soon.
   */
  private linger(): void {
    const socket = this.socket;
    let left = LINGER_BYTES;
    socket.removeAllListeners('data');
    socket.on('data', (chunk: Buffer) => {
      left -= chunk.length;
      if (left < 0) socket.destroy();
    });
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /** Connection-level credit is given back as soon as bytes arrive: streams bound what is buffered. */
  creditConnection(n: number): void {
    this.connUncredited += n;
    if (this.connUncredited >= CONN_WINDOW / 4) {
      this.windowUpdate(0, this.connUncredited);
      this.connRecvWindow += this.connUncredited;
      this.connUncredited = 0;
    }
  }

  /** Applies the peer's SETTINGS (RFC 9113 §6.5.2). */
  applySetting(key: number, value: number): void {
    switch (key) {
      case Setting.ENABLE_PUSH:
        if (value > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_PUSH other than 0 or 1');
        return;
      case Setting.INITIAL_WINDOW_SIZE: {
        if (value > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE above 2^31-1');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values())
          if (!s.widen(delta)) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, `INITIAL_WINDOW_SIZE overflows stream ${s.id}'s window`);
        return;
      }
      case Setting.MAX_FRAME_SIZE:
        if (value < 16384 || value > 16777215) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range');
        this.peerMaxFrame = value;
        return;
      case Setting.MAX_HEADER_LIST_SIZE:
        this.peerMaxHeaderList = value;
        return;
      default:
      // HEADER_TABLE_SIZE does not matter (the encoder never indexes); MAX_CONCURRENT_STREAMS
      // limits streams we would open (none); unknown settings are ignored (§6.5.2).
    }
  }

  pong(): void {
    this.pingSentAt = 0;
  }

  /** Reading stops at a frame boundary while this holds (the reader checks it before each frame). */
  private readonly mustHold = (): boolean =>
    this.closed ||
    this.held ||
    this.turnStreams >= STREAMS_PER_TURN ||
    this.outbox.pendingReplies > CONTROL_REPLY_BOUND ||
    this.outbox.pendingBytes > WRITE_BOUND;

  private receive(chunk: Buffer): void {
    this.lastRead = Date.now();
    let stopped: boolean;
    try {
      stopped = this.reader.push(chunk);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (stopped && !this.closed) {
      // Held before the chunk was used up: no more socket reads until what holds it clears.
      this.paused = true;
      this.socket.pause();
      this.maybeResume();
    }
  }

  /** Goes on reading once nothing holds it any more (deferred: this may run inside a handler). */
  private maybeResume(): void {
    if (!this.paused || this.resumeQueued) return;
    this.resumeQueued = true;
    setImmediate(() => {
      this.resumeQueued = false;
      if (!this.paused || this.mustHold()) return;
      let stopped: boolean;
      try {
        stopped = this.reader.resume();
      } catch (e) {
        this.fail(e);
        return;
      }
      if (this.closed) return;
      if (stopped) this.maybeResume();
      else {
        this.paused = false;
        this.socket.resume();
      }
    });
  }

  /** grpc-go's server keepalive: PING a peer silent for KEEPALIVE_MS, close if it stays silent. */
  private armKeepalive(ms: number): void {
    this.keepalive = setTimeout(() => {
      if (this.closed) return;
      const now = Date.now();
      if (this.pingSentAt && this.lastRead < this.pingSentAt) {
        this.destroy();
        return;
      }
      const idle = now - this.lastRead;
      if (idle >= KEEPALIVE_MS) {
        this.pingSentAt = now;
        this.frame(Frame.PING, 0, 0, Buffer.alloc(8));
        this.armKeepalive(KEEPALIVE_TIMEOUT_MS);
      } else {
        this.pingSentAt = 0;
        this.armKeepalive(KEEPALIVE_MS - idle);
      }
    }, ms);
    this.keepalive.unref();
  }
}
