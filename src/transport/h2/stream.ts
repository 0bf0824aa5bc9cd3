/** One HTTP/2 stream as the gRPC layer sees it: bytes in, headers/data/trailers out. */
import type { H2Connection } from './connection';
import { END_STREAM, H2Error, MAX_WINDOW } from './frames';
import { INITIAL_STREAM_WINDOW, MAX_STREAM_WINDOW } from './limits';

export interface StreamEvents {
  /** DATA payload bytes, in order, possibly a piece of a frame. */
  data(chunk: Buffer): void;
  /** The client half-closed (END_STREAM). */
  end(): void;
  /** The client reset the stream or the connection went away. */
  reset(code: number): void;
  /** The stream's queued DATA and the connection's socket have room again. */
  drain(): void;
}

export class H2Stream {
  events: StreamEvents | undefined;
  /** Outgoing DATA not yet sent for lack of window. */
  queue: Buffer[] = [];
  queued = 0;
  remoteClosed = false;
  localClosed = false;
  /** A write found the stream or the connection congested: tell the call when it clears. */
  wantDrain = false;
  private uncredited = 0;
  /** The window we keep open for the client; it grows while the handler keeps up (see credit()). */
  private target = INITIAL_STREAM_WINDOW;
  /** What the client may still send before our next WINDOW_UPDATE (it must never go below 0). */
  private recvWindow = INITIAL_STREAM_WINDOW;
  /** Bytes handed to the call that it has not taken yet (it is paused, or waits for budget). */
  private unconsumed = 0;
  private trailers: Buffer | undefined;

  constructor(
    private readonly conn: H2Connection,
    readonly id: number,
    public sendWindow: number,
  ) {}

  // --- from the connection

  /** A DATA frame of `len` bytes arrives; false if it overran the window (RFC 9113 §6.9.1). */
  received(len: number): boolean {
    this.recvWindow -= len;
    return this.recvWindow >= 0;
  }

  receive(chunk: Buffer): void {
    this.unconsumed += chunk.length;
    this.events?.data(chunk);
  }

  remoteEnd(): void {
    this.remoteClosed = true;
    this.events?.end();
  }

  peerReset(code: number): void {
    this.remoteClosed = true;
    this.localClosed = true;
    this.events?.reset(code);
  }

  /** The client widened our send window; false if it overflowed (RFC 9113 §6.9.1). */
  widen(inc: number): boolean {
    this.sendWindow += inc;
    return this.sendWindow <= MAX_WINDOW;
  }

  queueDrained(): void {
    if (this.trailers) {
      const t = this.trailers;
      this.trailers = undefined;
      this.conn.headers(this.id, t, END_STREAM);
      this.closeLocal();
    }
  }

  /** Window growth this stream holds beyond the initial window (returned when it closes). */
  get growth(): number {
    return this.target - INITIAL_STREAM_WINDOW;
  }

  // --- from the gRPC layer

  /** `n` received bytes were taken by the handler: the client may send as many more. */
  credit(n: number): void {
    this.unconsumed -= n;
    this.giveBack(n);
  }

  /**
   * Gives bytes back to the client's window, in batches of a quarter window. While the handler
   * keeps up (takes what arrives at once), the window grows fourfold per batch up to
   * MAX_STREAM_WINDOW, as far as the connection's growth budget allows: a stream that is read
   * quickly gets a window that does not limit its sender, one whose handler lags holds at most
   * what it was given. Padding (never seen by the handler) comes back through here directly.
   */
  giveBack(n: number): void {
    this.uncredited += n;
    if (this.uncredited < this.target / 4 || this.remoteClosed || this.localClosed) return;
    let inc = this.uncredited;
    if (this.unconsumed < this.target / 4 && this.target < MAX_STREAM_WINDOW) {
      const more = this.conn.growWindow(Math.min(3 * this.target, MAX_STREAM_WINDOW - this.target));
      this.target += more;
      inc += more;
    }
    this.conn.windowUpdate(this.id, inc);
    this.recvWindow += inc;
    this.uncredited = 0;
  }

  headers(block: Buffer, end: boolean): void {
    if (this.localClosed) return;
    this.conn.headers(this.id, block, end ? END_STREAM : 0);
    if (end) this.closeLocal();
  }

  data(buf: Buffer): void {
    if (this.localClosed || this.trailers) return;
    this.queue.push(buf);
    this.queued += buf.length;
    this.conn.pump(this);
  }

  /** Ends the stream with trailers once all queued DATA is out. */
  end(trailers: Buffer): void {
    if (this.localClosed || this.trailers) return;
    if (this.queue.length) this.trailers = trailers;
    else {
      this.conn.headers(this.id, trailers, END_STREAM);
      this.closeLocal();
    }
  }

  reset(code: number): void {
    if (this.localClosed) return;
    this.localClosed = true;
    this.conn.resetStream(this.id, code);
    this.conn.forget(this);
  }

  private closeLocal(): void {
    this.localClosed = true;
    // As grpc-go does: a client still sending after the response ended is told to stop.
    if (!this.remoteClosed) this.conn.resetStream(this.id, H2Error.NO_ERROR);
    this.conn.forget(this);
  }
}
