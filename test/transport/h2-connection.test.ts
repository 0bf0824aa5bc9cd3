/**
 * berth's HTTP/2 connection on a socket it does not own (a fake that records writes and can hold
 * their completion): the bounds that need a peer whose kernel buffer is full, and the keepalive.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { H2Connection } from '../../src/transport/h2/connection';
import { CONTROL_REPLY_BOUND, KEEPALIVE_MS, KEEPALIVE_TIMEOUT_MS } from '../../src/transport/h2/limits';
import { FLAG, frame, PREFACE, T } from '../helpers/h2-peer';

class FakeSocket extends EventEmitter {
  readonly writes: Buffer[] = [];
  /** Completion callbacks of writes the "kernel" has not taken yet. */
  readonly pending: Array<() => void> = [];
  holdWrites = false;
  paused = false;
  destroyed = false;
  writableLength = 0;

  write(b: Buffer, cb?: () => void): boolean {
    this.writes.push(Buffer.from(b));
    if (cb && this.holdWrites) this.pending.push(cb);
    else cb?.();
    return true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  destroy(): void {
    this.destroyed = true;
  }
  end(): void {}
  cork(): void {}
  uncork(): void {}

  /** Frames written so far, of one type. */
  sent(type: number, flags?: number): number {
    const all = Buffer.concat(this.writes);
    let n = 0;
    for (let i = 0; i + 9 <= all.length; i += 9 + all.readUIntBE(i, 3)) if (all[i + 3] === type && (flags === undefined || all[i + 4] === flags)) n++;
    return n;
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function connect(): { s: FakeSocket; conn: H2Connection } {
  const s = new FakeSocket();
  const conn = new H2Connection(s as unknown as Socket, { onStream: () => undefined, onClose: () => undefined });
  return { s, conn };
}

describe('a peer whose replies cannot be written', () => {
  it(`stops reading after ${CONTROL_REPLY_BOUND} control replies wait for the kernel, and goes on once they are written`, async () => {
    const { s, conn } = connect();
    s.holdWrites = true;
    s.emit('data', Buffer.concat([PREFACE, ...Array.from({ length: 200 }, () => frame(T.SETTINGS, 0, 0))]));
    await tick();
    expect(s.sent(T.SETTINGS, FLAG.ACK)).toBe(CONTROL_REPLY_BOUND + 1);
    expect(s.paused).toBe(true);
    while (s.pending.length) {
      s.pending.splice(0).forEach((cb) => cb());
      await tick();
      await tick();
    }
    expect(s.sent(T.SETTINGS, FLAG.ACK)).toBe(200);
    expect(s.paused).toBe(false);
    conn.destroy();
  });

  it('stops reading while more than 1 MiB waits in the socket', async () => {
    const { s, conn } = connect();
    s.writableLength = 2 << 20;
    s.emit('data', Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0), frame(T.SETTINGS, 0, 0)]));
    await tick();
    expect(s.sent(T.SETTINGS, FLAG.ACK)).toBe(0);
    expect(s.paused).toBe(true);
    s.writableLength = 0;
    s.emit('drain');
    await tick();
    await tick();
    expect(s.sent(T.SETTINGS, FLAG.ACK)).toBe(2);
    conn.destroy();
  });
});

describe('keepalive (grpc-go server defaults)', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it(`PINGs a peer silent for ${KEEPALIVE_MS / 3600e3} h, and closes the connection if it stays silent`, async () => {
    const { s } = connect();
    s.emit('data', Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0)]));
    jest.advanceTimersByTime(KEEPALIVE_MS - 1000);
    await tick();
    expect(s.sent(T.PING, 0)).toBe(0);
    jest.advanceTimersByTime(1000);
    await tick();
    expect(s.sent(T.PING, 0)).toBe(1);
    jest.advanceTimersByTime(KEEPALIVE_TIMEOUT_MS);
    expect(s.destroyed).toBe(true);
  });

  it('keeps a peer that answers, however long it idles', async () => {
    const { s } = connect();
    s.emit('data', Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0)]));
    for (let i = 1; i <= 3; i++) {
      // Idle until the server pings, then answer at once.
      while (s.sent(T.PING, 0) < i) {
        jest.advanceTimersByTime(KEEPALIVE_TIMEOUT_MS / 4);
        await tick();
      }
      s.emit('data', frame(T.PING, FLAG.ACK, 0, Buffer.alloc(8)));
      jest.advanceTimersByTime(KEEPALIVE_TIMEOUT_MS);
      expect(s.destroyed).toBe(false);
    }
    expect(s.sent(T.PING, 0)).toBe(3);
  });
});
