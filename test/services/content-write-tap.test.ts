import { WriteTap, TAP_MIN_DATA } from '../../src/services/content-write-tap';
import type { RequestFramer } from '../../src/transport';

/** Protobuf wire encoding by hand, so field order and framing can be anything. */
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const vField = (f: number, v: number) => Buffer.concat([varint(f * 8), varint(v)]);
const bField = (f: number, b: Buffer | string) => {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b);
  return Buffer.concat([varint(f * 8 + 2), varint(buf.length), buf]);
};
const frame = (msg: Buffer, compressed = 0) => {
  const h = Buffer.alloc(5);
  h[0] = compressed;
  h.writeUInt32BE(msg.length, 1);
  return Buffer.concat([h, msg]);
};
const WRITE = 1;

function setup(accepted = 0, maxReadMessageLength = -1) {
  // The call's side of the raw-pieces capability: it hands every later request byte to the framer.
  let framer: RequestFramer | undefined;
  const call = {
    takeRequestBytes(make: (max: number) => RequestFramer) {
      framer = make(maxReadMessageLength);
      return true;
    },
  };
  const tap = WriteTap.install(call)!.withRef('ref-1');
  const got: Buffer[] = [];
  const target = {
    accepted,
    append(p: Buffer) {
      got.push(Buffer.from(p));
      this.accepted += p.length;
    },
    flushed: () => Promise.resolve(),
  };
  tap.target = target;
  tap.handled = 0;
  // The framed messages the tap hands the call (in place of its own decoder's).
  const decoded: Buffer[] = [];
  // Feeds bytes in pieces of `step`, as HTTP/2 frames would arrive.
  const feed = (b: Buffer, step = 16384) => {
    for (let i = 0; i < b.length; i += step) decoded.push(...framer!.push(b.subarray(i, i + step)));
  };
  return { tap, got, feed, decoded, target };
}

const data = Buffer.alloc(TAP_MIN_DATA + 1000);
for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;

describe('WriteTap (streams WRITE data while the message arrives)', () => {
  it('streams a qualifying WRITE whatever the piece boundaries, and hands the call the message without its data', () => {
    for (const step of [1, 7, 16384, 1 << 20]) {
      const { tap, got, feed, decoded } = setup(100);
      const labels = bField(7, Buffer.concat([bField(1, 'k'), bField(2, 'v')]));
      const bytes = frame(Buffer.concat([vField(1, WRITE), bField(2, 'ref-1'), vField(5, 100), bField(6, data), labels]));
      feed(bytes, step);
      expect(decoded).toHaveLength(1);
      expect(decoded[0]!.equals(frame(Buffer.concat([vField(1, WRITE), bField(2, 'ref-1'), vField(5, 100), labels])))).toBe(true);
      expect(Buffer.concat(got).equals(data)).toBe(true);
      const rec = tap.take(0)!;
      expect(rec).toMatchObject({ offset: 100, length: data.length });
      expect(rec.broken).toBeUndefined();
      expect(rec.done).toBeInstanceOf(Promise);
    }
  });

  it('leaves to the ordinary path: wrong offset, another ref, expected set, STAT/COMMIT, compressed, small data, unhandled earlier message', () => {
    const cases: Array<[string, Buffer, number?]> = [
      ['offset', frame(Buffer.concat([vField(1, WRITE), vField(5, 5), bField(6, data)]))],
      ['ref', frame(Buffer.concat([vField(1, WRITE), bField(2, 'other'), bField(6, data)]))],
      ['expected', frame(Buffer.concat([vField(1, WRITE), bField(4, 'sha256:abc'), bField(6, data)]))],
      ['stat', frame(Buffer.concat([bField(6, data)]))],
      ['commit', frame(Buffer.concat([vField(1, 2), bField(6, data)]))],
      ['compressed', frame(Buffer.concat([vField(1, WRITE), bField(6, data)]), 1)],
      ['small', frame(Buffer.concat([vField(1, WRITE), bField(6, Buffer.alloc(100))]))],
      ['unhandled', frame(Buffer.concat([vField(1, WRITE), bField(6, data)])), -1],
    ];
    for (const [name, bytes, handled] of cases) {
      for (const step of [3, 16384]) {
        const { tap, got, feed, decoded } = setup(0);
        if (handled !== undefined) tap.handled = handled;
        feed(bytes, step);
        expect([name, got.length]).toEqual([name, 0]);
        expect([name, tap.take(0)]).toEqual([name, undefined]);
        // The call gets the message byte for byte, as its own decoder would frame it.
        expect([name, decoded.length, decoded[0]!.equals(bytes)]).toEqual([name, 1, true]);
      }
    }
  });

  it('frames several messages in one piece, empty ones included, as the plain decoder would', () => {
    const { feed, decoded } = setup(0);
    const msgs = [frame(vField(3, 10)), frame(Buffer.alloc(0)), frame(Buffer.concat([vField(1, WRITE), bField(6, Buffer.alloc(10))])), frame(vField(1, 2))];
    feed(Buffer.concat(msgs), 1 << 20);
    expect(decoded.map((b) => b.toString('hex'))).toEqual(msgs.map((b) => b.toString('hex')));
  });

  it("refuses a message above the receive limit with the decoder's error, before any of it is streamed", () => {
    const { tap, got, feed } = setup(0, TAP_MIN_DATA + 100);
    expect(() => feed(frame(Buffer.concat([vField(1, WRITE), bField(6, data)])))).toThrow(/Received message larger than max/);
    expect(got).toEqual([]);
    expect(tap.take(0)).toBeUndefined();
  });

  it('a writer that fails mid-data marks the record broken and streams nothing more', () => {
    const { tap, feed, target, decoded } = setup(0);
    let n = 0;
    target.append = () => {
      if (++n === 2) throw new Error('writer is closed');
    };
    const w = (off: number) => frame(Buffer.concat([vField(1, WRITE), vField(5, off), bField(6, data)]));
    feed(w(0), 1000);
    expect(tap.take(0)?.broken).toMatch(/streaming WRITE data failed: writer is closed/);
    expect(decoded).toHaveLength(1);
    tap.handled = 1;
    feed(w(0), 1000);
    expect(tap.take(1)).toBeUndefined();
    expect(decoded).toHaveLength(2);
  });

  it('indexes messages within the stream: only the message whose predecessors are handled streams', () => {
    const { tap, got, feed } = setup(0);
    const stat = frame(vField(3, 10));
    const w = (off: number) => frame(Buffer.concat([vField(1, WRITE), vField(5, off), bField(6, data)]));
    feed(stat);
    tap.handled = 1;
    feed(w(0));
    expect(tap.take(1)).toMatchObject({ offset: 0, length: data.length });
    // Message 2 arrives before message 1 is handled: not streamed.
    feed(w(data.length));
    expect(tap.take(2)).toBeUndefined();
    expect(got.reduce((a, b) => a + b.length, 0)).toBe(data.length);
  });

  it('a field of 1–6 after streamed data marks the record broken (the handler fails the stream)', () => {
    const { tap, feed } = setup(0);
    feed(frame(Buffer.concat([vField(1, WRITE), bField(6, data), vField(5, 999)])));
    expect(tap.take(0)?.broken).toMatch(/fields after data/);
  });
});
