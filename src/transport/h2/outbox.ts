/**
 * The frames a connection sends: everything queued in one tick goes out in one socket write, and
 * PING ACKs wait for company (see ack()). It also counts what a peer could make pile up: control
 * replies not yet handed to the kernel, and bytes the socket holds.
 */
import type { Socket } from 'node:net';
import { ACK, END_HEADERS, Frame, frameHeader, type FrameType } from './frames';

/** Longest a PING ACK waits for other frames to go out with. */
const PING_ACK_DELAY_MS = 5;

export class Outbox {
  private out: Buffer[] = [];
  private bytes = 0;
  private readonly pingAcks: Buffer[] = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private queued = false;
  private closing = false;
  /** Control replies in `out`, and in writes the socket has not finished. */
  private batchReplies = 0;
  private writingReplies = 0;
  closed = false;

  /** `onWritten`: a write holding control replies reached the kernel. */
  constructor(
    private readonly socket: Socket,
    private readonly onWritten: () => void,
  ) {}

  /** Queues one frame for this tick's write; `reply`: it answers the peer (an ACK or RST_STREAM). */
  frame(type: FrameType, flags: number, id: number, payload?: Buffer, reply = false): void {
    if (this.closed) return;
    this.push(type, flags, id, payload);
    if (reply) this.batchReplies++;
    this.schedule();
  }

  /** A header block as one HEADERS frame and as many CONTINUATIONs as `maxFrame` requires, back to back. */
  headers(id: number, block: Buffer, flags: number, maxFrame: number): void {
    if (this.closed) return;
    if (block.length <= maxFrame) this.push(Frame.HEADERS, flags | END_HEADERS, id, block);
    else {
      this.push(Frame.HEADERS, flags, id, block.subarray(0, maxFrame));
      for (let off = maxFrame; off < block.length; off += maxFrame) {
        const end = Math.min(off + maxFrame, block.length);
        this.push(Frame.CONTINUATION, end === block.length ? END_HEADERS : 0, id, block.subarray(off, end));
      }
    }
    this.schedule();
  }

  /** Control replies the kernel has not taken yet (grpc-go's queued "transport response frames"). */
  get pendingReplies(): number {
    return this.batchReplies + this.writingReplies + this.pingAcks.length;
  }

  /** Bytes queued here and in the socket, not yet in the kernel. */
  get pendingBytes(): number {
    return this.bytes + this.socket.writableLength;
  }

  private schedule(): void {
    if (!this.queued) {
      this.queued = true;
      process.nextTick(this.flush);
    }
  }

  private push(type: FrameType, flags: number, id: number, payload?: Buffer): void {
    const len = payload ? payload.length : 0;
    this.out.push(frameHeader(len, type, flags, id));
    if (len) this.out.push(payload!);
    this.bytes += 9 + len;
  }

  readonly flush = (): void => {
    this.queued = false;
    if (this.closed || !this.out.length) return;
    // While the socket is full, frames wait here and go out together on 'drain' (the connection
    // calls flush()): one write instead of a small one per tick, each with its own bookkeeping.
    if (this.socket.writableNeedDrain && !this.closing) return;
    if (this.pingAcks.length) {
      clearTimeout(this.pingTimer);
      this.pingTimer = undefined;
      this.batchReplies += this.pingAcks.length;
      for (const p of this.pingAcks.splice(0)) this.push(Frame.PING, ACK, 0, p);
    }
    const out = this.out;
    const bytes = this.bytes;
    const replies = this.batchReplies;
    this.out = [];
    this.bytes = 0;
    this.batchReplies = 0;
    const s = this.socket;
    // Only writes carrying replies are tracked (a callback per write costs): most carry none.
    let done: ((e?: Error | null) => void) | undefined;
    if (replies) {
      this.writingReplies += replies;
      done = () => {
        this.writingReplies -= replies;
        this.onWritten();
      };
    }
    // Small replies (nearly all) as one buffer: one write call, no cork/writev bookkeeping.
    if (out.length === 1 || bytes <= 16384) s.write(out.length === 1 ? out[0] : Buffer.concat(out, bytes), done);
    else {
      s.cork();
      for (let i = 0; i < out.length; i++) s.write(out[i], i === out.length - 1 ? done : undefined);
      s.uncork();
    }
  };

  /**
   * Go clients (ctr) send a BDP-estimation PING after nearly every response. Its ACK waits for
   * the next frames we send anyway (at most PING_ACK_DELAY_MS), instead of costing a write and a
   * wake-up of the client of its own per call; the estimate only needs the ACK to arrive.
   */
  ack(ping: Buffer): void {
    if (this.closed) return;
    this.pingAcks.push(ping);
    this.pingTimer ??= setTimeout(() => {
      this.pingTimer = undefined;
      const acks = this.pingAcks.splice(0);
      for (const q of acks) this.push(Frame.PING, ACK, 0, q);
      this.batchReplies += acks.length;
      this.schedule();
    }, PING_ACK_DELAY_MS);
  }

  /** Writes what is queued and sends nothing more. */
  close(): void {
    clearTimeout(this.pingTimer);
    this.closing = true;
    this.flush();
    this.closed = true;
  }
}
