/**
 * What one HTTP/2 peer may cost berth's own server (src/transport/h2/limits.ts), and the parts of
 * HTTP semantics (RFC 9113 §8) and HPACK (RFC 7541) a gRPC server answers, each case naming the
 * section or the bound it checks.
 */
import { ERR, FLAG, frame, grpcMessage, literal, RawPeer, requestBlock, T, u32 } from '../helpers/h2-peer';
import { DEF, ECHO, type Fixture, startServer } from '../helpers/h2-fixture';
import { expectAlive, expectConnectionError, expectStreamError } from './h2-expect';
import { MAX_STREAMS } from '../../src/transport/h2/limits';

const headers = (id: number, path = ECHO, extra: Array<[string, string]> = []) => frame(T.HEADERS, FLAG.END_HEADERS, id, requestBlock(path, extra));
const data = (id: number, body = grpcMessage()) => frame(T.DATA, FLAG.END_STREAM, id, body);
const call = (id: number, path = ECHO) => [headers(id, path), data(id)];

let f: Fixture;
let p: RawPeer;
beforeAll(async () => {
  f = await startServer('own');
});
afterAll(async () => {
  await f.close();
});
afterEach(() => p?.close());
const open = async (opts: Parameters<typeof RawPeer.open>[1] = {}) => (p = await RawPeer.open(f.address, opts));

describe('flood limits (GOAWAY ENHANCE_YOUR_CALM)', () => {
  it('PINGs: a fourth PING without a response in between is too many (grpc-go policy)', async () => {
    await open();
    await p.write(Array.from({ length: 4 }, (_, i) => frame(T.PING, 0, 0, u32(0, i))));
    await expectConnectionError(p, ERR.ENHANCE_YOUR_CALM);
    expect(p.goaway?.debug).toBe('too_many_pings');
  });

  it('PINGs: one after each response (a Go client estimating bandwidth) is fine', async () => {
    await open();
    for (let i = 0; i < 10; i++) {
      const id = 2 * i + 1;
      await p.write(call(id));
      await p.until(() => p.statuses.get(id)?.status !== undefined, 3000);
      await p.write(frame(T.PING, 0, 0, u32(0, i)));
    }
    await expectAlive(p, 21);
    expect(p.goaway).toBeUndefined();
  });

  it.each([
    ['SETTINGS', () => frame(T.SETTINGS, 0, 0)],
    ['empty DATA', () => frame(T.DATA, 0, 1)],
    ['unknown-type', () => frame(0x42, 0, 0, Buffer.alloc(8))],
    ['PRIORITY', () => frame(T.PRIORITY, 0, 1, Buffer.alloc(5))],
  ])('a flood of %s frames', async (_what, make) => {
    await open();
    await p.write(headers(1, DEF.Stall.path));
    await p.write(Array.from({ length: 1500 }, make));
    await expectConnectionError(p, ERR.ENHANCE_YOUR_CALM);
  });

  it('rapid reset: streams opened and reset faster than the allowance refills', async () => {
    await open();
    const frames: Buffer[] = [];
    for (let i = 0; i < 1500; i++) frames.push(...call(2 * i + 1, DEF.Hang.path), frame(T.RST_STREAM, 0, 2 * i + 1, u32(ERR.CANCEL)));
    await p.write(frames);
    await expectConnectionError(p, ERR.ENHANCE_YOUR_CALM);
  });
});

describe('handler slots', () => {
  it(`a stream keeps its handler slot after a reset: at most ${MAX_STREAMS} handlers run, the rest wait`, async () => {
    await open();
    const n = MAX_STREAMS + 40;
    const frames: Buffer[] = [];
    for (let i = 0; i < n; i++) frames.push(...call(2 * i + 1, DEF.Linger.path), frame(T.RST_STREAM, 0, 2 * i + 1, u32(ERR.CANCEL)));
    await p.write(frames);
    await new Promise((r) => setTimeout(r, 300));
    expect(f.linger.now).toBe(MAX_STREAMS);
    f.linger.release();
    await p.until(() => f.linger.now === 40, 3000);
    expect(f.linger.now).toBe(40);
    expect(f.linger.max).toBe(MAX_STREAMS);
    f.linger.release();
    await expectAlive(p, 2 * n + 1);
  });
});

describe('receive windows (64 KiB, growing while the handler keeps up)', () => {
  it('a stream whose handler reads gets a growing window; one whose handler stalls gets none', async () => {
    await open();
    await p.write([headers(1, DEF.Sink.path), headers(3, DEF.Stall.path)]);
    await p.sendData(1, grpcMessage(Buffer.alloc(4 << 20)), false);
    expect(p.sendWindow(1)).toBeGreaterThanOrEqual(4 << 20);
    const stalled = p.sendData(3, grpcMessage(Buffer.alloc(1 << 20)), false);
    await new Promise((r) => setTimeout(r, 300));
    // 64 KiB and not a byte more.
    expect(p.sendWindow(3)).toBe(0);
    void stalled.catch(() => undefined);
  });
});

describe('message budget (16 MiB of messages being assembled per connection)', () => {
  it('a message that does not fit waits, its sender stopped by flow control, until another completes', async () => {
    const big = await startServer('own', 12 << 20);
    const q = await RawPeer.open(big.address);
    try {
      const msg = (fill: number) => grpcMessage(Buffer.alloc(10 << 20, fill));
      const a = msg(1);
      const b = msg(2);
      await q.write([headers(1, DEF.Sink.path), headers(3, DEF.Sink.path)]);
      await q.sendData(1, a.subarray(0, 1 << 20), false);
      await new Promise((r) => setTimeout(r, 100));
      let bSent = false;
      const sendingB = q.sendData(3, b).then(() => (bSent = true));
      await new Promise((r) => setTimeout(r, 500));
      // B (10 MiB) cannot be held beside A's 10 MiB: it stalls within its window, unanswered.
      expect(bSent).toBe(false);
      expect(q.statuses.get(3)).toBeUndefined();
      await q.sendData(1, a.subarray(1 << 20));
      await sendingB;
      await q.until(() => q.statuses.get(1)?.status !== undefined && q.statuses.get(3)?.status !== undefined, 10_000);
      expect([q.statuses.get(1)?.status, q.statuses.get(3)?.status]).toEqual(['0', '0']);
      expect(q.frames.filter((x) => x.type === T.DATA && x.id === 3).map((x) => x.payload.subarray(5).toString())).toEqual([String(10 << 20)]);
      expect(q.violations).toEqual([]);
    } finally {
      q.close();
      await big.close();
    }
  });
});

describe('a peer that does not read', () => {
  it('makes the server stop reading it (bounded queue), while other connections are served', async () => {
    await open({ read: false, settings: [[4, 0x7fffffff]] });
    await p.write(frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff - 65535)));
    let sent = 0;
    const payload = Buffer.alloc(60 << 10, 1);
    // Echo calls whose replies (60 KiB each) the peer never reads.
    for (; sent < 2000; sent++) {
      const id = 2 * sent + 1;
      const wrote = await Promise.race([
        p.write(
          call(id)
            .concat([])
            .map((b, i) => (i === 1 ? data(id, grpcMessage(payload)) : b)),
        ),
        new Promise((r) => setTimeout(() => r('stall'), 2000)),
      ]);
      if (wrote === 'stall') break;
    }
    expect(sent).toBeLessThan(2000);
    const other = await RawPeer.open(f.address);
    await expectAlive(other, 1);
    other.close();
  });
});

describe('header blocks (RFC 9113 §10.5.1, RFC 7541)', () => {
  it('§10.5.1: a header list above SETTINGS_MAX_HEADER_LIST_SIZE gets 431; the connection goes on', async () => {
    await open();
    const block = Buffer.concat([requestBlock(ECHO), literal('x-big', 'a'.repeat(100_000), true)]);
    expect(block.length).toBeLessThan(64 << 10);
    await p.write([frame(T.HEADERS, FLAG.END_HEADERS, 1, block), data(1)]);
    await p.until(() => p.statuses.get(1) !== undefined, 3000);
    expect(p.statuses.get(1)?.headers).toContainEqual([':status', '431']);
    await expectAlive(p, 3);
  });

  it('a header block above 64 KiB is refused before it is read (CONTINUATION flood)', async () => {
    await open();
    await p.write(frame(T.HEADERS, 0, 1, requestBlock(ECHO)));
    for (let i = 0; i < 10 && !p.closed && !p.goaway; i++) await p.write(frame(T.CONTINUATION, 0, 1, Buffer.alloc(16_000, 0x40)));
    await expectConnectionError(p, ERR.ENHANCE_YOUR_CALM);
  });

  it('RFC 7541 §6.2.1, §2.3.2: fields indexed by one request are found by the next', async () => {
    await open();
    const indexed = Buffer.concat([Buffer.from([0x40, 3]), Buffer.from('x-a'), Buffer.from([1]), Buffer.from('b')]);
    await p.write([frame(T.HEADERS, FLAG.END_HEADERS, 1, Buffer.concat([requestBlock(ECHO), indexed])), data(1)]);
    await p.write([frame(T.HEADERS, FLAG.END_HEADERS, 3, Buffer.concat([requestBlock(ECHO), Buffer.from([0xbe])])), data(3)]);
    await p.until(() => p.statuses.get(3)?.status !== undefined, 3000);
    expect(p.statuses.get(3)?.status).toBe('0');
  });

  it.each([
    ['§4.2: a table size update above SETTINGS_HEADER_TABLE_SIZE', Buffer.from([0x3f, 0xe2, 0x1f])],
    ['§4.2: a table size update after a field', Buffer.concat([literal('a', 'b'), Buffer.from([0x20])])],
    ['§5.2: a Huffman string with EOS', Buffer.from([0x00, 0x01, 0x61, 0x84, 0xff, 0xff, 0xff, 0xff])],
    ['§5.2: Huffman padding longer than 7 bits', Buffer.from([0x00, 0x01, 0x61, 0x82, 0x1f, 0xff])],
    ['§5.1: an integer overflowing', Buffer.from([0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])],
  ])('RFC 7541 %s is a connection error COMPRESSION_ERROR', async (_what, bad) => {
    await open();
    await p.write(frame(T.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, Buffer.concat([requestBlock(ECHO), bad])));
    await expectConnectionError(p, ERR.COMPRESSION_ERROR);
  });
});

describe('requests (RFC 9113 §8)', () => {
  it.each([
    ['§8.2.1: an uppercase field name', [['X-Upper', 'v']]],
    ['§8.2.2: a connection-specific field', [['connection', 'keep-alive']]],
    ['§8.2.2: te other than trailers', [['te', 'gzip']]],
    ['§8.2.1: a value with a line feed', [['x-a', 'b\nc']]],
    ['§8.3: a pseudo-header after a regular field', [[':authority', 'x']]],
  ] as Array<[string, Array<[string, string]>]>)('%s is a stream error PROTOCOL_ERROR', async (_what, extra) => {
    await open();
    await p.write([headers(1, ECHO, extra), data(1)]);
    await expectStreamError(p, 1, ERR.PROTOCOL_ERROR);
    await expectAlive(p, 3);
  });

  it.each([
    ['§8.3.1: no :path', Buffer.concat([literal(':method', 'POST'), literal(':scheme', 'http')])],
    [
      '§8.3.1: an unknown pseudo-header',
      Buffer.concat([
        requestBlock(ECHO).subarray(0, 0),
        literal(':method', 'POST'),
        literal(':scheme', 'http'),
        literal(':path', ECHO),
        literal(':protocol', 'x'),
      ]),
    ],
    ['§8.3.1: :method twice', Buffer.concat([literal(':method', 'POST'), literal(':method', 'POST'), literal(':scheme', 'http'), literal(':path', ECHO)])],
  ])('%s is a stream error PROTOCOL_ERROR', async (_what, block) => {
    await open();
    await p.write([frame(T.HEADERS, FLAG.END_HEADERS, 1, block), data(1)]);
    await expectStreamError(p, 1, ERR.PROTOCOL_ERROR);
  });

  it('§8.1: trailers without END_STREAM are a stream error PROTOCOL_ERROR', async () => {
    await open();
    await p.write([headers(1, DEF.Hang.path), frame(T.HEADERS, FLAG.END_HEADERS, 1, literal('x-t', 'v'))]);
    await expectStreamError(p, 1, ERR.PROTOCOL_ERROR);
  });
});

describe('what the server sends respects the peer (RFC 9113 §6.5.2)', () => {
  it('an error text of any length: frames within SETTINGS_MAX_FRAME_SIZE, grpc-message capped', async () => {
    await open();
    await p.write([headers(1, DEF.Fail.path), data(1, grpcMessage(Buffer.from('€'.repeat(20_000))))]);
    await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
    expect(p.statuses.get(1)?.status).toBe('3');
    expect(p.statuses.get(1)!.message!.length).toBeLessThanOrEqual(4096);
    expect(p.violations).toEqual([]);
  });

  it('SETTINGS_MAX_HEADER_LIST_SIZE: grpc-message is left out when it would not fit', async () => {
    await open({ settings: [[6, 200]] });
    await p.write([headers(1, DEF.Fail.path), data(1, grpcMessage(Buffer.from('x'.repeat(300))))]);
    await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
    expect(p.statuses.get(1)?.status).toBe('3');
    expect(p.statuses.get(1)?.message).toBeUndefined();
    expect(p.violations).toEqual([]);
  });

  it('SETTINGS_MAX_FRAME_SIZE and windows: a large response is cut to the peer frame size and window', async () => {
    await open({ settings: [[4, 100_000]] });
    await p.write([headers(1, DEF.Many.path), data(1, grpcMessage(Buffer.from([9, 8])))]);
    await p.until(() => p.statuses.get(1)?.status !== undefined, 5000);
    expect(p.statuses.get(1)?.status).toBe('0');
    expect(p.frames.filter((x) => x.type === T.DATA).reduce((n, x) => n + x.payload.length, 0)).toBe(8 * (5 + (64 << 10)));
    expect(p.violations).toEqual([]);
  });
});

describe('deadlines', () => {
  it('a 30-day grpc-timeout (2592000S, as grpc-go encodes long deadlines) behaves as no deadline', async () => {
    await open();
    await p.write(headers(1, ECHO, [['grpc-timeout', '2592000S']]));
    await new Promise((r) => setTimeout(r, 50));
    await p.write(data(1));
    await p.write(call(3, DEF.Hang.path).map((b, i) => (i === 0 ? headers(3, DEF.Hang.path, [['grpc-timeout', '2592000S']]) : b)));
    await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
    expect(p.statuses.get(1)?.status).toBe('0');
    await new Promise((r) => setTimeout(r, 200));
    expect(p.statuses.get(3)).toBeUndefined();
  });

  it('a short one ends the call with DEADLINE_EXCEEDED', async () => {
    await open();
    await p.write(call(1, DEF.Hang.path).map((b, i) => (i === 0 ? headers(1, DEF.Hang.path, [['grpc-timeout', '50m']]) : b)));
    await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
    expect(p.statuses.get(1)?.status).toBe('4');
  });
});

describe('GOAWAY (RFC 9113 §6.8)', () => {
  it("the client's GOAWAY: open streams finish, then the server closes", async () => {
    await open();
    await p.write([headers(1, ECHO), frame(T.GOAWAY, 0, 0, u32(0, 0)), data(1)]);
    await p.until(() => p.closed, 3000);
    expect(p.statuses.get(1)?.status).toBe('0');
  });
});
