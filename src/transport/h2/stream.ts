/** One HTTP/2 stream as the gRPC layer sees it: bytes in, headers/data/trailers out. */
import type { H2Connection } from './connection';
import { END_HEADERS, END_STREAM, Frame, H2Error, STREAM_WINDOW } from './frames';

const MAX_WINDOW = 0x7fffffff;

export interface StreamEvents {
  /** DATA payload bytes, in order, possibly a piece of a frame. */
  data(chunk: Buffer): void;
  /** The client half-closed (END_STREAM). */
  end(): void;
  /** The client reset the stream or the connection went away. */
  reset(code: number): void;
  /** Every queued DATA byte has been handed to the socket. */
  drain(): void;
}

export class H2Stream {
  events: StreamEvents | undefined;
  /** Outgoing DATA not yet sent for lack of window. */
  queue: Buffer[] = [];
  queued = 0;
  remoteClosed = false;
  localClosed = false;
  private uncredited = 0;
  /** What the client may still send before our next WINDOW_UPDATE (it must never go below 0). */
  recvWindow = STREAM_WINDOW;
  private trailers: Buffer | undefined;

  constructor(
    private readonly conn: H2Connection,
    readonly id: number,
    public sendWindow: number,
  ) {}

  // --- from the connection

  receive(chunk: Buffer): void {
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
      this.conn.frame(Frame.HEADERS, END_HEADERS | END_STREAM, this.id, t);
      this.closeLocal();
    }
    this.events?.drain();
  }

  // --- from the gRPC layer

  /** `n` received bytes were consumed: give them back to the client's window (in batches). */
  credit(n: number): void {
    this.uncredited += n;
    if (this.uncredited >= STREAM_WINDOW / 4 && !this.remoteClosed && !this.localClosed) {
      this.conn.windowUpdate(this.id, this.uncredited);
      this.recvWindow += this.uncredited;
      this.uncredited = 0;
    }
  }

  headers(block: Buffer, end: boolean): void {
    if (this.localClosed) return;
    this.conn.frame(Frame.HEADERS, END_HEADERS | (end ? END_STREAM : 0), this.id, block);
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
      this.conn.frame(Frame.HEADERS, END_HEADERS | END_STREAM, this.id, trailers);
      this.closeLocal();
    }
  }

  reset(code: number): void {
    if (this.localClosed) return;
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(code, 0);
    this.conn.frame(Frame.RST_STREAM, 0, this.id, b);
    this.localClosed = true;
    this.conn.forget(this);
  }

  private closeLocal(): void {
    this.localClosed = true;
    // As grpc-go does: a client still sending after the response ended is told to stop.
    if (!this.remoteClosed) {
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(H2Error.NO_ERROR, 0);
      this.conn.frame(Frame.RST_STREAM, 0, this.id, b);
    }
    this.conn.forget(this);
  }
}
