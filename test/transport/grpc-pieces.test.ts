/** The transport's small parts on their own: outgoing header blocks, grpc-message, deadlines, message budget. */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Outbox } from '../../src/transport/h2/outbox';
import { Deadline } from '../../src/transport/grpc/deadline';
import { encodeGrpcMessage, MessageBudget, MessageDecoder, parseTimeout } from '../../src/transport/grpc/messages';
import { T, FLAG } from '../helpers/h2-peer';

/** A socket that records what is written. */
function fakeSocket(): { socket: Socket; written: () => Buffer } {
  const parts: Buffer[] = [];
  const s = Object.assign(new EventEmitter(), {
    writableLength: 0,
    write: (b: Buffer, cb?: () => void) => {
      parts.push(Buffer.from(b));
      cb?.();
      return true;
    },
    cork: () => undefined,
    uncork: () => undefined,
  });
  return { socket: s as unknown as Socket, written: () => Buffer.concat(parts) };
}

function frames(b: Buffer): Array<{ type: number; flags: number; id: number; len: number }> {
  const out = [];
  for (let i = 0; i + 9 <= b.length;) {
    const len = b.readUIntBE(i, 3);
    out.push({ type: b[i + 3]!, flags: b[i + 4]!, id: b.readUInt32BE(i + 5), len });
    i += 9 + len;
  }
  return out;
}

describe('outgoing header blocks (RFC 9113 §4.3, §6.10)', () => {
  it('splits a block into HEADERS and CONTINUATIONs no larger than the peer allows, back to back', async () => {
    const { socket, written } = fakeSocket();
    const o = new Outbox(socket, () => undefined);
    o.headers(3, Buffer.alloc(40_000, 1), FLAG.END_STREAM, 16_384);
    o.frame(T.DATA, 0, 5, Buffer.from('after'));
    await new Promise((r) => process.nextTick(r));
    expect(frames(written())).toEqual([
      { type: T.HEADERS, flags: FLAG.END_STREAM, id: 3, len: 16_384 },
      { type: T.CONTINUATION, flags: 0, id: 3, len: 16_384 },
      { type: T.CONTINUATION, flags: FLAG.END_HEADERS, id: 3, len: 40_000 - 2 * 16_384 },
      { type: T.DATA, flags: 0, id: 5, len: 5 },
    ]);
  });

  it('sends a block that fits as one HEADERS frame with END_HEADERS', async () => {
    const { socket, written } = fakeSocket();
    new Outbox(socket, () => undefined).headers(1, Buffer.alloc(100), 0, 16_384);
    await new Promise((r) => process.nextTick(r));
    expect(frames(written())).toEqual([{ type: T.HEADERS, flags: FLAG.END_HEADERS, id: 1, len: 100 }]);
  });
});

describe('grpc-message', () => {
  it('is percent-encoded UTF-8, capped in bytes after encoding at a character boundary', () => {
    expect(encodeGrpcMessage('plain text')).toBe('plain text');
    expect(encodeGrpcMessage('nöt 100%')).toBe('n%C3%B6t 100%25');
    const long = encodeGrpcMessage('€'.repeat(5000));
    expect(long.length).toBeLessThanOrEqual(4096);
    expect(long.endsWith('%E2%80%A6')).toBe(true);
    expect(decodeURIComponent(long)).toMatch(/^€+…$/);
    expect(encodeGrpcMessage('x'.repeat(10_000)).length).toBeLessThanOrEqual(4096);
    expect(encodeGrpcMessage('x'.repeat(4096))).toBe('x'.repeat(4096));
  });
});

describe('deadlines', () => {
  afterEach(() => jest.useRealTimers());

  it('parses grpc-timeout as grpc-go sends it, up to 8 digits', () => {
    expect(parseTimeout('2592000S')).toBe(30 * 24 * 3600e3);
    expect(parseTimeout('100m')).toBe(100);
    expect(parseTimeout('99999999H')).toBe(99999999 * 3600e3);
    expect(parseTimeout('123456789S')).toBeUndefined();
  });

  it('a 30-day deadline fires after 30 days, not at once (setTimeout overflows above 2^31-1 ms)', () => {
    jest.useFakeTimers();
    const fired = jest.fn();
    new Deadline(30 * 24 * 3600e3, fired);
    jest.advanceTimersByTime(1000);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(29 * 24 * 3600e3);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(24 * 3600e3);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('a cleared deadline never fires', () => {
    jest.useFakeTimers();
    const fired = jest.fn();
    new Deadline(50, fired).clear();
    jest.advanceTimersByTime(100);
    expect(fired).not.toHaveBeenCalled();
  });
});

describe('message budget', () => {
  const framed = (n: number) => {
    const b = Buffer.alloc(5 + n, 7);
    b[0] = 0;
    b.writeUInt32BE(n, 1);
    return b;
  };

  it('a message assembled from pieces reserves its size, returned when it is whole', () => {
    const budget = new MessageBudget(1000);
    const d = new MessageDecoder(-1, budget);
    const m = framed(600);
    expect(d.push(m.subarray(0, 100))).toEqual([]);
    // 605 bytes reserved: a second decoder's 600-byte message does not fit, and stops before it.
    const d2 = new MessageDecoder(-1, budget);
    const m2 = framed(600);
    expect(d2.push(m2.subarray(0, 300))).toEqual([]);
    expect(d2.rest?.length).toBe(295);
    const retry = jest.fn();
    budget.wait(retry);
    expect(d.push(m.subarray(100))).toEqual([m]);
    expect(retry).toHaveBeenCalledTimes(1);
    expect(d2.push(d2.rest!)).toEqual([]);
    expect(d2.push(m2.subarray(300))).toEqual([m2]);
  });

  it('messages that arrive whole take no budget; one larger than the budget passes alone', () => {
    const budget = new MessageBudget(100);
    const d = new MessageDecoder(-1, budget);
    const small = framed(50);
    expect(d.push(Buffer.concat([small, small]))).toEqual([small, small]);
    const big = framed(500);
    expect(d.push(big.subarray(0, 10))).toEqual([]);
    expect(d.push(big.subarray(10))).toEqual([big]);
  });

  it('drop() returns what a partly received message had reserved', () => {
    const budget = new MessageBudget(1000);
    const d = new MessageDecoder(-1, budget);
    d.push(framed(900).subarray(0, 10));
    expect(budget.reserve(500)).toBe(false);
    d.drop();
    expect(budget.reserve(500)).toBe(true);
  });
});
