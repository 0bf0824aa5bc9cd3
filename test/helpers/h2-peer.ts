/**
 * A raw HTTP/2 client for hostile-peer and conformance tests: it writes whatever frames it is told
 * to (valid or not) and parses every frame the server sends, checking each against the settings
 * this peer advertised (frame size, header list size, flow-control windows).
 */
import { connect, type Socket } from 'node:net';
import { CODES } from '../../src/transport/h2/huffman';
import { encodeInt, HpackDecoder } from '../../src/transport/h2/hpack';
import { H2Error, PREFACE } from '../../src/transport/h2/frames';

export const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
export const ERR = H2Error;
export const ERR_NAME = Object.fromEntries(Object.entries(ERR).map(([k, v]) => [v, k])) as Record<number, string>;
export { PREFACE };

export function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id >>> 0, 5);
  return payload.length ? Buffer.concat([h, payload]) : h;
}

export function u32(...v: number[]): Buffer {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i));
  return b;
}

export function settingsPayload(pairs: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([k, v], i) => {
    b.writeUInt16BE(k, 6 * i);
    b.writeUInt32BE(v >>> 0, 6 * i + 2);
  });
  return b;
}

/** RFC 7541 Huffman coding of a latin1 string. */
export function huffmanEncode(s: string): Buffer {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const { code, len } = CODES[s.charCodeAt(i) & 0xff]!;
    for (let b = len - 1; b >= 0; b--) {
      acc = (acc << 1) | ((code / 2 ** b) & 1);
      if (++bits === 8) {
        bytes.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits) bytes.push((acc << (8 - bits)) | ((1 << (8 - bits)) - 1));
  return Buffer.from(bytes);
}

/** One header field as a literal without indexing (new name), optionally Huffman-coded. */
export function literal(name: string, value: string | Buffer, huffman = false): Buffer {
  const out: number[] = [0x00];
  const n = Buffer.from(name, 'latin1');
  encodeInt(out, 0, 7, n.length);
  const head = Buffer.concat([Buffer.from(out), n]);
  const v = Buffer.isBuffer(value) ? value : huffman ? huffmanEncode(value) : Buffer.from(value, 'latin1');
  const len: number[] = [];
  encodeInt(len, huffman ? 0x80 : 0, 7, v.length);
  return Buffer.concat([head, Buffer.from(len), v]);
}

/** The header block of a gRPC request (plain literals), with extra fields appended. */
export function requestBlock(path: string, extra: Array<[string, string]> = []): Buffer {
  const fields: Array<[string, string]> = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ];
  return Buffer.concat(fields.map(([k, v]) => literal(k, v)));
}

/** A gRPC length-prefixed message. */
export function grpcMessage(body: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(body.length, 1);
  return Buffer.concat([h, body]);
}

export interface Received {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

export interface PeerOptions {
  /** Settings this peer sends after the preface (the server's frames are checked against them). */
  settings?: Array<[number, number]>;
  /** false: never read from the socket (a peer that does not read). */
  read?: boolean;
  /** Send no preface and SETTINGS: the test writes them itself. */
  raw?: boolean;
}

/**
 * One connection. `violations` lists every frame the server sent that broke this peer's settings
 * (larger than SETTINGS_MAX_FRAME_SIZE, DATA beyond the window, a header block above
 * SETTINGS_MAX_HEADER_LIST_SIZE, HEADERS split by another frame).
 */
export class RawPeer {
  readonly frames: Received[] = [];
  readonly violations: string[] = [];
  readonly statuses = new Map<number, { status?: string; message?: string; headers: Array<[string, string]> }>();
  closed = false;
  goaway: { lastId: number; code: number; debug: string } | undefined;
  /** The server's SETTINGS (first frame), by identifier. */
  serverSettings: Map<number, number> | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private readonly hpack = new HpackDecoder(4096, 1 << 30);
  private block: { id: number; parts: Buffer[]; end: boolean } | undefined;
  private maxFrame = 16384;
  private maxList = Infinity;
  private connWindow = 65535;
  private initialWindow = 65535;
  private readonly windows = new Map<number, number>();
  /** What the server lets us send: per stream (from its INITIAL_WINDOW_SIZE) and on the connection. */
  private readonly sendWindows = new Map<number, number>();
  private connSendWindow = 65535;
  private waiters: Array<() => void> = [];
  readonly ready: Promise<void>;

  constructor(
    readonly socket: Socket,
    opts: PeerOptions = {},
  ) {
    for (const [k, v] of opts.settings ?? []) {
      if (k === 5) this.maxFrame = v;
      if (k === 6) this.maxList = v;
      if (k === 4) this.initialWindow = v;
    }
    this.ready = new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    this.ready.catch(() => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    if (opts.read === false) socket.pause();
    else socket.on('data', (c: Buffer) => this.receive(c));
    if (!opts.raw) this.write(Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0, settingsPayload(opts.settings ?? []))]));
  }

  /**
   * Connects; a reading peer also waits for the server's SETTINGS (and has acknowledged them), so
   * that its automatic replies cannot land inside a header block the test sends later.
   */
  static async open(address: string, opts: PeerOptions = {}): Promise<RawPeer> {
    const p = new RawPeer(connect(address), opts);
    await p.ready;
    if (opts.read !== false && !opts.raw) await p.until(() => p.serverSettings !== undefined || p.closed, 2000);
    return p;
  }

  /** Writes; resolves once the socket took it (false: it is closed). */
  write(b: Buffer | Buffer[]): Promise<boolean> {
    if (this.socket.destroyed) return Promise.resolve(false);
    const buf = Array.isArray(b) ? Buffer.concat(b) : b;
    return new Promise((resolve) => {
      const ok = this.socket.write(buf, (e) => {
        if (e) resolve(false);
      });
      if (ok) resolve(true);
      else {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve(!this.socket.destroyed);
        };
        this.socket.on('drain', done);
        this.socket.on('close', done);
      }
    });
  }

  /** Opens a gRPC call (HEADERS, then the message with END_STREAM unless `body` is null). */
  async call(id: number, path: string, body: Buffer | null = Buffer.alloc(0), extra: Array<[string, string]> = []): Promise<void> {
    const parts = [frame(T.HEADERS, FLAG.END_HEADERS, id, requestBlock(path, extra))];
    if (body) parts.push(frame(T.DATA, FLAG.END_STREAM, id, grpcMessage(body)));
    await this.write(parts);
  }

  close(): void {
    this.socket.destroy();
  }

  /** What the server lets this peer send on stream `id` now. */
  sendWindow(id: number): number {
    return this.sendWindows.get(id) ?? this.serverSettings?.get(4) ?? 65535;
  }

  /** Sends `data` on stream `id` as DATA frames within the server's flow-control windows. */
  async sendData(id: number, data: Buffer, end = true): Promise<void> {
    let off = 0;
    while (off < data.length || end) {
      const room = Math.min(data.length - off, 16384, this.sendWindow(id), this.connSendWindow);
      if (room <= 0 && off < data.length) {
        if (this.closed) throw new Error('connection closed');
        await this.until(() => this.closed || Math.min(this.sendWindow(id), this.connSendWindow) > 0, 60_000);
        continue;
      }
      const last = end && off + room === data.length;
      this.sendWindows.set(id, this.sendWindow(id) - room);
      this.connSendWindow -= room;
      await this.write(frame(T.DATA, last ? FLAG.END_STREAM : 0, id, data.subarray(off, off + room)));
      off += room;
      if (last || (!end && off === data.length)) return;
    }
  }

  /** Sends SETTINGS and applies them to this peer's own checks of the server's frames. */
  settings(pairs: Array<[number, number]>): Promise<boolean> {
    for (const [k, v] of pairs) {
      if (k === 5) this.maxFrame = v;
      if (k === 6) this.maxList = v;
      if (k === 4) {
        for (const [id, w] of this.windows) this.windows.set(id, w + v - this.initialWindow);
        this.initialWindow = v;
      }
    }
    return this.write(frame(T.SETTINGS, 0, 0, settingsPayload(pairs)));
  }

  /** The largest frame the server accepts (its SETTINGS_MAX_FRAME_SIZE, once its SETTINGS arrived). */
  async serverMaxFrame(): Promise<number> {
    await this.until(() => this.serverSettings !== undefined, 2000);
    return this.serverSettings?.get(5) ?? 16384;
  }

  /** Resolves when `pred` holds (checked on every frame and on close), false after `ms`. */
  async until(pred: () => boolean, ms = 2000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  /** The connection ended: GOAWAY seen or socket closed. */
  ended(ms = 2000): Promise<boolean> {
    return this.until(() => this.closed || this.goaway !== undefined, ms);
  }

  /** RST_STREAM codes received per stream. */
  rst(id: number): number | undefined {
    const f = this.frames.find((x) => x.type === T.RST_STREAM && x.id === id);
    return f ? f.payload.readUInt32BE(0) : undefined;
  }

  /** Resolves with the error the server answered with: a GOAWAY or RST_STREAM code, 'closed', or undefined (none within ms). */
  async error(id: number, ms = 2000): Promise<{ kind: 'goaway' | 'rst' | 'closed'; code?: number } | undefined> {
    await this.until(() => this.closed || this.goaway !== undefined || this.rst(id) !== undefined, ms);
    if (this.goaway) return { kind: 'goaway', code: this.goaway.code };
    const r = this.rst(id);
    if (r !== undefined) return { kind: 'rst', code: r };
    return this.closed ? { kind: 'closed' } : undefined;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private receive(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      this.onFrame({ type: buf[3]!, flags: buf[4]!, id: buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(buf.subarray(9, 9 + len)) });
      buf = buf.subarray(9 + len);
    }
    this.pending = buf;
    this.wake();
  }

  private onFrame(f: Received): void {
    this.frames.push(f);
    if (f.payload.length > this.maxFrame)
      this.violations.push(`${f.payload.length}-byte frame (type ${f.type}) above SETTINGS_MAX_FRAME_SIZE ${this.maxFrame}`);
    if (this.block && f.type !== T.CONTINUATION) this.violations.push(`frame type ${f.type} inside a header block`);
    switch (f.type) {
      case T.SETTINGS:
        if (f.flags & FLAG.ACK) return;
        this.serverSettings ??= new Map();
        for (let i = 0; i + 6 <= f.payload.length; i += 6) this.serverSettings.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
        this.socket.write(frame(T.SETTINGS, FLAG.ACK, 0));
        return;
      case T.PING:
        if (!(f.flags & FLAG.ACK)) this.socket.write(frame(T.PING, FLAG.ACK, 0, f.payload));
        return;
      case T.WINDOW_UPDATE: {
        const inc = f.payload.readUInt32BE(0) & 0x7fffffff;
        if (f.id === 0) this.connSendWindow += inc;
        else this.sendWindows.set(f.id, this.sendWindow(f.id) + inc);
        return;
      }
      case T.GOAWAY:
        // The first one says why (a server may send another as it closes).
        this.goaway ??= { lastId: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
        return;
      case T.DATA: {
        const w = (this.windows.get(f.id) ?? this.initialWindow) - f.payload.length;
        this.windows.set(f.id, w);
        this.connWindow -= f.payload.length;
        if (w < 0 || this.connWindow < 0) this.violations.push(`DATA beyond the window on stream ${f.id}`);
        // Give the bytes back at once: this peer reads everything.
        if (f.payload.length)
          this.socket.write(Buffer.concat([frame(T.WINDOW_UPDATE, 0, 0, u32(f.payload.length)), frame(T.WINDOW_UPDATE, 0, f.id, u32(f.payload.length))]));
        this.connWindow += f.payload.length;
        this.windows.set(f.id, w + f.payload.length);
        return;
      }
      case T.HEADERS: {
        let p = f.payload;
        if (f.flags & FLAG.PADDED) p = p.subarray(1, p.length - p[0]!);
        if (f.flags & FLAG.PRIORITY) p = p.subarray(5);
        this.block = { id: f.id, parts: [p], end: (f.flags & FLAG.END_STREAM) !== 0 };
        if (f.flags & FLAG.END_HEADERS) this.endBlock();
        return;
      }
      case T.CONTINUATION:
        if (!this.block || this.block.id !== f.id) this.violations.push('CONTINUATION without HEADERS');
        else {
          this.block.parts.push(f.payload);
          if (f.flags & FLAG.END_HEADERS) this.endBlock();
        }
        return;
    }
  }

  private endBlock(): void {
    const b = this.block!;
    this.block = undefined;
    const headers = this.hpack.decode(Buffer.concat(b.parts));
    const size = headers.reduce((n, [k, v]) => n + k.length + v.length + 32, 0);
    if (size > this.maxList) this.violations.push(`header list of ${size} bytes above SETTINGS_MAX_HEADER_LIST_SIZE ${this.maxList}`);
    const st = this.statuses.get(b.id) ?? { headers: [] };
    st.headers.push(...headers);
    for (const [k, v] of headers) {
      if (k === 'grpc-status') st.status = v;
      if (k === 'grpc-message') st.message = v;
    }
    this.statuses.set(b.id, st);
  }
}
