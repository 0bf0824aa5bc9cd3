/**
 * The frames a connection sends: everything queued in one tick goes out in one socket write, and
 * PING ACKs wait for company (see ack()).
 */
import type { Socket } from 'node:net';
import { ACK, Frame, frameHeader, type FrameType } from './frames';

/** Longest a PING ACK waits for other frames to go out with. */
const PING_ACK_DELAY_MS = 5;

export class Outbox {
  private out: Buffer[] = [];
  private bytes = 0;
  private readonly pingAcks: Buffer[] = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private queued = false;
  closed = false;

  constructor(private readonly socket: Socket) {}

  /** Queues one frame for this tick's write. */
  frame(type: FrameType, flags: number, id: number, payload?: Buffer): void {
    if (this.closed) return;
    this.push(type, flags, id, payload);
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
    if (this.pingAcks.length) {
      clearTimeout(this.pingTimer);
      this.pingTimer = undefined;
      for (const p of this.pingAcks.splice(0)) this.push(Frame.PING, ACK, 0, p);
    }
    const out = this.out;
    const bytes = this.bytes;
    this.out = [];
    this.bytes = 0;
    const s = this.socket;
    // Small replies (nearly all) as one buffer: one write call, no cork/writev bookkeeping.
    if (out.length === 1 || bytes <= 16384) s.write(out.length === 1 ? out[0] : Buffer.concat(out, bytes));
    else {
      s.cork();
      for (const b of out) s.write(b);
      s.uncork();
    }
  };

  /**
   * Go clients (ctr) send a BDP-estimation PING after nearly every response. Its ACK waits for
   * the next frames we send anyway (at most PING_ACK_DELAY_MS), instead of costing a write and a
   * wake-up of the client of its own per call; the estimate only needs the ACK to arrive.
   */
  ack(ping: Buffer): void {
    this.pingAcks.push(ping);
    this.pingTimer ??= setTimeout(() => {
      this.pingTimer = undefined;
      for (const q of this.pingAcks.splice(0)) this.frame(Frame.PING, ACK, 0, q);
    }, PING_ACK_DELAY_MS);
  }

  /** Writes what is queued and sends nothing more. */
  close(): void {
    clearTimeout(this.pingTimer);
    this.flush();
    this.closed = true;
  }
}
