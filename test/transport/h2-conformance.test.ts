/**
 * h2spec-style conformance cases (h2spec is not packaged for Debian): raw frames against the gRPC
 * server on both HTTP/2 backends, each case named by the RFC 9113 section it checks.
 */
import { ERR, FLAG, frame, grpcMessage, literal, PREFACE, RawPeer, requestBlock, settingsPayload, T, u32 } from '../helpers/h2-peer';
import { BACKENDS, DEF, ECHO, type Fixture, startServer } from '../helpers/h2-fixture';
import { expectAlive, expectConnectionError, expectStreamError } from './h2-expect';

const HANG = DEF.Hang.path;
const headers = (id: number, path = ECHO, flags: number = FLAG.END_HEADERS) => frame(T.HEADERS, flags, id, requestBlock(path));
const data = (id: number, flags: number = FLAG.END_STREAM, body = grpcMessage()) => frame(T.DATA, flags, id, body);

describe.each(BACKENDS)('HTTP/2 conformance (%s backend)', (backend) => {
  let f: Fixture;
  let p: RawPeer;
  beforeAll(async () => {
    f = await startServer(backend);
  });
  afterAll(async () => {
    await f.close();
  });
  const open = async (settings: Array<[number, number]> = []) => (p = await RawPeer.open(f.address, { settings }));
  afterEach(() => p?.close());

  describe('§3.4 connection preface', () => {
    it('§3.4: an invalid preface is a connection error PROTOCOL_ERROR', async () => {
      p = await RawPeer.open(f.address, { raw: true });
      await p.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'));
      expect(await p.ended(3000)).toBe(true);
      if (p.goaway) expect(p.goaway.code).toBe(ERR.PROTOCOL_ERROR);
    });
    it('§3.4: a first frame other than SETTINGS is a connection error PROTOCOL_ERROR', async () => {
      p = await RawPeer.open(f.address, { raw: true });
      await p.write(Buffer.concat([PREFACE, frame(T.PING, 0, 0, Buffer.alloc(8))]));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§3.4 + §6.5.3: the server sends SETTINGS and acknowledges ours', async () => {
      await open();
      expect(await p.until(() => p.frames.some((x) => x.type === T.SETTINGS && x.flags & FLAG.ACK), 2000)).toBe(true);
    });
  });

  describe('§4 frames', () => {
    it('§4.1: unknown frame types, unknown flags and the reserved bit are ignored', async () => {
      await open();
      await p.write([frame(0x20, 0xff, 0, Buffer.alloc(100)), frame(T.PING, 0xfe, 0, Buffer.alloc(8))]);
      const h = headers(1);
      h.writeUInt32BE(0x80000001, 5); // reserved bit set on the stream id
      await p.write([h, data(1)]);
      await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
      expect(p.statuses.get(1)?.status).toBe('0');
    });
    it('§4.2: a DATA frame above SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR', async () => {
      await open();
      const max = await p.serverMaxFrame();
      await p.write([headers(1, ECHO), frame(T.DATA, 0, 1, Buffer.alloc(max + 1))]);
      await expectStreamError(p, 1, ERR.FRAME_SIZE_ERROR);
    });
    it('§4.2: a HEADERS frame above SETTINGS_MAX_FRAME_SIZE is a connection error FRAME_SIZE_ERROR', async () => {
      await open();
      const max = await p.serverMaxFrame();
      await p.write(frame(T.HEADERS, FLAG.END_HEADERS, 1, Buffer.concat([requestBlock(ECHO), literal('x', 'y'.repeat(max))])));
      await expectConnectionError(p, ERR.FRAME_SIZE_ERROR);
    });
    it('§4.3: an undecodable header block is a connection error COMPRESSION_ERROR', async () => {
      await open();
      await p.write(frame(T.HEADERS, FLAG.END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])));
      await expectConnectionError(p, ERR.COMPRESSION_ERROR);
    });
    it('§4.3: another frame inside a header block is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write([headers(1, ECHO, 0), frame(T.PRIORITY, 0, 1, u32(0, 0).subarray(0, 5))]);
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§4.3: HEADERS for another stream inside a header block is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write([headers(1, ECHO, 0), headers(3)]);
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
  });

  describe('§5.1 stream states', () => {
    it('§5.1 idle: DATA is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(data(1));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§5.1 idle: RST_STREAM is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.RST_STREAM, 0, 1, u32(ERR.CANCEL)));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§5.1 idle: WINDOW_UPDATE is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.WINDOW_UPDATE, 0, 1, u32(100)));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§5.1 idle: CONTINUATION is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.CONTINUATION, FLAG.END_HEADERS, 1, requestBlock(ECHO)));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§5.1 half-closed (remote): DATA is a stream error STREAM_CLOSED', async () => {
      await open();
      await p.write([headers(1, HANG), data(1), data(1)]);
      await expectStreamError(p, 1, ERR.STREAM_CLOSED);
    });
    it('§5.1 half-closed (remote): HEADERS is a stream error STREAM_CLOSED', async () => {
      await open();
      await p.write([headers(1, HANG), data(1), frame(T.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, literal('x-trailer', 'v'))]);
      await expectStreamError(p, 1, ERR.STREAM_CLOSED);
    });
    it('§5.1 closed: DATA after the client reset the stream is a STREAM_CLOSED error', async () => {
      await open();
      await p.write([headers(1, HANG), frame(T.RST_STREAM, 0, 1, u32(ERR.CANCEL)), data(1)]);
      await expectStreamError(p, 1, ERR.STREAM_CLOSED);
    });
    it('§5.1 closed: DATA after both sides ended the stream is a STREAM_CLOSED error', async () => {
      await open();
      await p.write([headers(1), data(1)]);
      await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
      await p.write(data(1));
      await expectStreamError(p, 1, ERR.STREAM_CLOSED);
    });
    it('§5.1.1: an even stream id is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write([headers(2), data(2)]);
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§5.1.1: a new stream id below an earlier one is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write([headers(5), data(5)]);
      await p.until(() => p.statuses.get(5)?.status !== undefined, 3000);
      await p.write([headers(3), data(3)]);
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§5.1.2: a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS is refused', async () => {
      await open();
      const max = (await p.until(() => !!p.serverSettings?.get(3))) ? p.serverSettings!.get(3)! : 0;
      expect(max).toBeGreaterThan(0);
      const frames: Buffer[] = [];
      for (let i = 0; i <= max; i++) frames.push(headers(2 * i + 1, HANG));
      await p.write(frames);
      await expectStreamError(p, 2 * max + 1, ERR.REFUSED_STREAM);
      await p.write(frame(T.RST_STREAM, 0, 1, u32(ERR.CANCEL)));
      await expectAlive(p, 2 * max + 3);
    });
  });

  describe('§5.3, §5.5, §6 frame definitions', () => {
    it('§5.3.1: a stream that depends on itself (HEADERS) is a stream error PROTOCOL_ERROR', async () => {
      await open();
      const prio = Buffer.concat([u32(1), Buffer.from([16])]);
      await p.write(frame(T.HEADERS, FLAG.END_HEADERS | FLAG.PRIORITY | FLAG.END_STREAM, 1, Buffer.concat([prio, requestBlock(ECHO)])));
      await expectStreamError(p, 1, ERR.PROTOCOL_ERROR);
    });
    it('§5.3.1: a PRIORITY frame making a stream depend on itself is a stream error PROTOCOL_ERROR', async () => {
      await open();
      await p.write([headers(1, HANG), frame(T.PRIORITY, 0, 1, Buffer.concat([u32(1), Buffer.from([16])]))]);
      await expectStreamError(p, 1, ERR.PROTOCOL_ERROR);
    });
    it('§5.5: an unknown frame inside a header block is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write([headers(1, ECHO, 0), frame(0x30, 0, 1, Buffer.alloc(4))]);
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.1: DATA on stream 0 is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.DATA, 0, 0, Buffer.from('x')));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.1: DATA padding as long as the frame is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write([headers(1), frame(T.DATA, FLAG.PADDED | FLAG.END_STREAM, 1, Buffer.from([9, 0, 0, 0, 0, 0]))]);
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.1: padded DATA is accepted and its padding is not data', async () => {
      await open();
      const body = grpcMessage(Buffer.from('padded'));
      await p.write([headers(1), frame(T.DATA, FLAG.PADDED | FLAG.END_STREAM, 1, Buffer.concat([Buffer.from([4]), body, Buffer.alloc(4)]))]);
      await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
      expect(p.statuses.get(1)?.status).toBe('0');
    });
    it('§6.2: HEADERS on stream 0 is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.HEADERS, FLAG.END_HEADERS, 0, requestBlock(ECHO)));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.2: HEADERS padding longer than the frame is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.HEADERS, FLAG.END_HEADERS | FLAG.PADDED, 1, Buffer.concat([Buffer.from([200]), requestBlock(ECHO)])));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.3: PRIORITY on stream 0 is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.PRIORITY, 0, 0, Buffer.alloc(5)));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.3: PRIORITY of the wrong length is a stream error FRAME_SIZE_ERROR', async () => {
      await open();
      await p.write([headers(1, HANG), frame(T.PRIORITY, 0, 1, Buffer.alloc(4))]);
      await expectStreamError(p, 1, ERR.FRAME_SIZE_ERROR);
    });
    it('§6.4: RST_STREAM on stream 0 is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.RST_STREAM, 0, 0, u32(ERR.CANCEL)));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.4: RST_STREAM of the wrong length is a connection error FRAME_SIZE_ERROR', async () => {
      await open();
      await p.write([headers(1, HANG), frame(T.RST_STREAM, 0, 1, Buffer.alloc(3))]);
      await expectConnectionError(p, ERR.FRAME_SIZE_ERROR);
    });
    it('§6.5: SETTINGS ACK with a payload is a connection error FRAME_SIZE_ERROR', async () => {
      await open();
      await p.write(frame(T.SETTINGS, FLAG.ACK, 0, Buffer.alloc(6)));
      await expectConnectionError(p, ERR.FRAME_SIZE_ERROR);
    });
    it('§6.5: SETTINGS on a stream is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.SETTINGS, 0, 1));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.5: SETTINGS whose length is not a multiple of 6 is a connection error FRAME_SIZE_ERROR', async () => {
      await open();
      await p.write(frame(T.SETTINGS, 0, 0, Buffer.alloc(3)));
      await expectConnectionError(p, ERR.FRAME_SIZE_ERROR);
    });
    it('§6.5.2: ENABLE_PUSH other than 0 or 1 is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.SETTINGS, 0, 0, settingsPayload([[2, 2]])));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.5.2: INITIAL_WINDOW_SIZE above 2^31-1 is a connection error FLOW_CONTROL_ERROR', async () => {
      await open();
      await p.write(frame(T.SETTINGS, 0, 0, settingsPayload([[4, 0x80000000]])));
      await expectConnectionError(p, ERR.FLOW_CONTROL_ERROR);
    });
    it('§6.5.2: MAX_FRAME_SIZE below 16384 or above 2^24-1 is a connection error PROTOCOL_ERROR', async () => {
      for (const v of [16383, 16777216]) {
        await open();
        await p.write(frame(T.SETTINGS, 0, 0, settingsPayload([[5, v]])));
        await expectConnectionError(p, ERR.PROTOCOL_ERROR);
        p.close();
      }
    });
    it('§6.5.2: unknown settings are ignored', async () => {
      await open();
      await p.write(frame(T.SETTINGS, 0, 0, settingsPayload([[0xff, 1]])));
      await expectAlive(p, 1);
    });
    it('§6.7: PING is answered with the same payload', async () => {
      await open();
      await p.write(frame(T.PING, 0, 0, Buffer.from('berth-h2')));
      expect(await p.until(() => p.frames.some((x) => x.type === T.PING && x.flags & FLAG.ACK && x.payload.toString() === 'berth-h2'), 2000)).toBe(true);
    });
    it('§6.7: PING on a stream is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.PING, 0, 1, Buffer.alloc(8)));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.7: PING of the wrong length is a connection error FRAME_SIZE_ERROR', async () => {
      await open();
      await p.write(frame(T.PING, 0, 0, Buffer.alloc(6)));
      await expectConnectionError(p, ERR.FRAME_SIZE_ERROR);
    });
    it('§6.8: GOAWAY on a stream is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write(frame(T.GOAWAY, 0, 1, u32(0, 0)));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.9: WINDOW_UPDATE of 0 is a connection error on stream 0 and a stream error on a stream (PROTOCOL_ERROR)', async () => {
      await open();
      await p.write([headers(1, HANG), data(1), frame(T.WINDOW_UPDATE, 0, 1, u32(0))]);
      await expectStreamError(p, 1, ERR.PROTOCOL_ERROR);
      p.close();
      await open();
      await p.write(frame(T.WINDOW_UPDATE, 0, 0, u32(0)));
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.9: WINDOW_UPDATE of the wrong length is a connection error FRAME_SIZE_ERROR', async () => {
      await open();
      await p.write(frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(3)));
      await expectConnectionError(p, ERR.FRAME_SIZE_ERROR);
    });
    it('§6.9.1: a connection window above 2^31-1 is a connection error FLOW_CONTROL_ERROR', async () => {
      await open();
      await p.write([frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)), frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff))]);
      await expectConnectionError(p, ERR.FLOW_CONTROL_ERROR);
    });
    it('§6.9.1: a stream window above 2^31-1 is a stream error FLOW_CONTROL_ERROR', async () => {
      await open();
      await p.write([headers(1, HANG), data(1), frame(T.WINDOW_UPDATE, 0, 1, u32(0x7fffffff))]);
      await expectStreamError(p, 1, ERR.FLOW_CONTROL_ERROR);
    });
    it('§6.9.1: DATA beyond the stream window is a FLOW_CONTROL_ERROR', async () => {
      await open();
      const window = p.serverSettings!.get(4) ?? 65535;
      const frames = [headers(1, DEF.Stall.path)];
      for (let sent = 0; sent <= window; sent += 16384) frames.push(frame(T.DATA, 0, 1, Buffer.alloc(16384)));
      await p.write(frames);
      await expectStreamError(p, 1, ERR.FLOW_CONTROL_ERROR);
    });
    it('§6.9.2: an INITIAL_WINDOW_SIZE change that overflows an open stream window is a connection error FLOW_CONTROL_ERROR', async () => {
      await open();
      await p.write([headers(1, HANG), data(1), frame(T.WINDOW_UPDATE, 0, 1, u32(0x7fffffff - 65535))]);
      await p.write(frame(T.SETTINGS, 0, 0, settingsPayload([[4, 65536]])));
      await expectConnectionError(p, ERR.FLOW_CONTROL_ERROR);
    });
    it('§6.9.2: DATA waits for window after INITIAL_WINDOW_SIZE 0, and flows when it is raised', async () => {
      await open([[4, 0]]);
      await p.write([headers(1, DEF.Many.path), data(1, FLAG.END_STREAM, grpcMessage(Buffer.from([7, 2])))]);
      await p.until(() => p.frames.some((x) => x.type === T.HEADERS && x.id === 1), 2000);
      await new Promise((r) => setTimeout(r, 100));
      expect(p.frames.filter((x) => x.type === T.DATA && x.payload.length).length).toBe(0);
      await p.settings([[4, 65535]]);
      await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
      expect(p.statuses.get(1)?.status).toBe('0');
      expect(p.violations).toEqual([]);
    });
    it('§6.10: CONTINUATION after END_HEADERS is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write([headers(1, HANG), frame(T.CONTINUATION, FLAG.END_HEADERS, 1, literal('x', 'y'))]);
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.10: CONTINUATION on another stream is a connection error PROTOCOL_ERROR', async () => {
      await open();
      await p.write([headers(1, ECHO, 0), frame(T.CONTINUATION, FLAG.END_HEADERS, 3, literal('x', 'y'))]);
      await expectConnectionError(p, ERR.PROTOCOL_ERROR);
    });
    it('§6.10: a header block over several CONTINUATION frames is accepted', async () => {
      await open();
      const block = requestBlock(ECHO);
      const third = Math.ceil(block.length / 3);
      await p.write([
        frame(T.HEADERS, 0, 1, block.subarray(0, third)),
        frame(T.CONTINUATION, 0, 1, block.subarray(third, 2 * third)),
        frame(T.CONTINUATION, FLAG.END_HEADERS, 1, block.subarray(2 * third)),
        data(1),
      ]);
      await p.until(() => p.statuses.get(1)?.status !== undefined, 3000);
      expect(p.statuses.get(1)?.status).toBe('0');
    });
  });
});
