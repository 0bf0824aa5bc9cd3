/**
 * A lean gRPC client channel over berth's own HTTP/2 code (the frames and HPACK the server uses),
 * for the calls where grpc-js's client costs more than the work: bulk Content/Write. A 1 MiB
 * message goes out as one DATA frame where the server allows it (berthd does), written with
 * writev from the caller's buffers, without a copy. Works against any gRPC server (containerd's
 * too): it follows the peer's SETTINGS and flow-control windows.
 */
import { connect, type Socket } from 'node:net';
import { Status } from './codes';
import { ACK, DEFAULT_WINDOW, END_HEADERS, END_STREAM, Frame, frameHeader, H2Error, PREFACE } from '../h2/frames';
import { FrameReader } from '../h2/reader';
import { encodeHeaders, HpackDecoder } from '../h2/hpack';
import { MessageDecoder } from './messages';

/** Our receive windows: replies are small, but a server stream may be large. */
const WINDOW = 16 << 20;

export interface CallStatus {
  code: number;
  details: string;
}

export class ClientStream {
  sendWindow: number;
  /** Resolves with the call's status (grpc-status from the trailers). */
  readonly status: Promise<CallStatus>;
  private settle!: (s: CallStatus) => void;
  private readonly decoder = new MessageDecoder(-1);
  private uncredited = 0;
  closed = false;
  onMessage: (body: Buffer) => void = () => undefined;
  /**
   * Off (the default): received bytes go back to the server's window as they arrive. On: only
   * when the consumer calls consumed() for each message it has taken (5 + its length), so a
   * reader slower than the server holds at most one stream window (16 MiB) unread.
   */
  manualCredit = false;

  constructor(
    private readonly ch: H2Channel,
    readonly id: number,
    window: number,
  ) {
    this.sendWindow = window;
    this.status = new Promise((r) => (this.settle = r));
  }

  /** Sends one message; resolves once the windows and the socket took it. */
  async write(body: Buffer | Buffer[]): Promise<void> {
    const parts = Array.isArray(body) ? body : [body];
    const len = parts.reduce((n, b) => n + b.length, 0);
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(len, 1);
    await this.ch.sendData(this, [prefix, ...parts], 5 + len, false);
  }

  /** Half-closes our side. */
  end(): Promise<void> {
    return this.ch.sendData(this, [], 0, true);
  }

  receive(chunk: Buffer): void {
    for (const m of this.decoder.push(chunk)) this.onMessage(m.subarray(5));
    if (!this.manualCredit) this.credit(chunk.length);
  }

  /** With manualCredit: the consumer has taken a message of `bodyLength` bytes. */
  consumed(bodyLength: number): void {
    if (!this.closed) this.credit(bodyLength + 5);
  }

  /** Resets the stream (RST_STREAM CANCEL): the server sees the call cancelled. */
  cancel(details = 'cancelled by the client'): void {
    if (this.closed) return;
    this.ch.reset(this.id);
    this.finish({ code: Status.CANCELLED, details });
  }

  /** Gives `n` received bytes back to the server's window (in batches). */
  credit(n: number): void {
    this.uncredited += n;
    if (this.uncredited >= WINDOW / 4) {
      this.ch.windowUpdate(this.id, this.uncredited);
      this.uncredited = 0;
    }
  }

  finish(s: CallStatus): void {
    if (this.closed) return;
    this.closed = true;
    this.settle(s);
  }
}

export class H2Channel {
  private readonly socket: Socket;
  private readonly streams = new Map<number, ClientStream>();
  private readonly hpack = new HpackDecoder(4096, 1 << 20);
  private nextId = 1;
  private peerMaxFrame = 16384;
  private peerWindow = DEFAULT_WINDOW;
  private connWindow = DEFAULT_WINDOW;
  private connUncredited = 0;
  private readonly reader: FrameReader;
  /** The stream of the DATA frame now arriving. */
  private dataStream: ClientStream | undefined;
  /** Waiters for window (send side). */
  private waiters: Array<() => void> = [];
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  constructor(path: string) {
    this.socket = connect(path);
    let settingsSeen!: () => void;
    let failed!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      settingsSeen = resolve;
      failed = reject;
    });
    this.ready.catch(() => undefined);
    this.onSettings = settingsSeen;
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(0x4, 0);
    settings.writeUInt32BE(WINDOW, 2);
    settings.writeUInt16BE(0x2, 6); // no server push
    settings.writeUInt32BE(0, 8);
    // We advertise no MAX_FRAME_SIZE: the server's frames stay within the default 16 KiB.
    this.reader = new FrameReader(
      {
        dataStart: (id, frameLen, dataLen) => {
          this.credit(frameLen);
          this.dataStream = this.streams.get(id);
          if (frameLen > dataLen) this.dataStream?.credit(frameLen - dataLen); // padding
        },
        data: (chunk) => this.dataStream?.receive(chunk),
        dataEnd: () => (this.dataStream = undefined),
        headers: (id, endStream, block) => this.headers(id, endStream, block),
        control: (type, flags, id, payload) => this.control(type, flags, id, payload),
      },
      // A client is lenient about what servers send back (containerd echoes 45 KB error texts).
      { maxFrame: 16384, maxBlock: 1 << 20, maxBlockFrames: 1024 },
      false,
      () => this.failure !== undefined,
    );
    this.socket.write(PREFACE);
    this.frame(Frame.SETTINGS, 0, 0, settings);
    this.windowUpdate(0, WINDOW * 4 - DEFAULT_WINDOW);
    this.socket.on('data', (c: Buffer) => this.receive(c));
    this.socket.on('drain', () => this.wake());
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
    this.socket.once('error', failed);
  }

  private onSettings: () => void;

  /** Opens a call; `headers` are metadata (e.g. containerd-namespace). */
  async call(path: string, metadata: Record<string, string> = {}): Promise<ClientStream> {
    await this.ready;
    if (this.failure) throw this.failure;
    const id = this.nextId;
    this.nextId += 2;
    const s = new ClientStream(this, id, this.peerWindow);
    this.streams.set(id, s);
    const list: Array<[string, string]> = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ];
    for (const [k, v] of Object.entries(metadata)) list.push([k, v]);
    this.frame(Frame.HEADERS, END_HEADERS, id, encodeHeaders(list));
    return s;
  }

  /** The connection failed or was closed: no new call can start on it. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Sends RST_STREAM(CANCEL) for a stream of ours and forgets it. */
  reset(id: number): void {
    if (!this.streams.delete(id) || this.failure) return;
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(H2Error.CANCEL, 0);
    this.frame(Frame.RST_STREAM, 0, id, b);
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  windowUpdate(id: number, inc: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(inc, 0);
    this.frame(Frame.WINDOW_UPDATE, 0, id, b);
  }

  private frame(type: number, flags: number, id: number, payload?: Buffer, more?: Buffer[]): boolean {
    const len = (payload?.length ?? 0) + (more ? more.reduce((n, b) => n + b.length, 0) : 0);
    this.socket.cork();
    this.socket.write(frameHeader(len, type, flags, id));
    if (payload?.length) this.socket.write(payload);
    let ok = true;
    if (more) for (const b of more) if (b.length) ok = this.socket.write(b);
    this.socket.uncork();
    return ok && !this.socket.writableNeedDrain;
  }

  /** Sends `bytes` of `parts` as DATA frames within the windows and the peer's frame size. */
  async sendData(s: ClientStream, parts: Buffer[], bytes: number, end: boolean): Promise<void> {
    const queue = parts.filter((b) => b.length);
    let left = bytes;
    while (left > 0 || end) {
      if (this.failure) throw this.failure;
      if (s.closed) throw new Error('stream closed');
      const room = Math.min(left, this.peerMaxFrame, s.sendWindow, this.connWindow);
      if (left > 0 && room <= 0) {
        await new Promise<void>((r) => this.waiters.push(r));
        continue;
      }
      const out: Buffer[] = [];
      let n = 0;
      while (n < room) {
        const b = queue[0];
        const k = Math.min(b.length, room - n);
        out.push(k === b.length ? b : b.subarray(0, k));
        if (k === b.length) queue.shift();
        else queue[0] = b.subarray(k);
        n += k;
      }
      left -= n;
      s.sendWindow -= n;
      this.connWindow -= n;
      const last = end && left === 0;
      const ok = this.frame(Frame.DATA, last ? END_STREAM : 0, s.id, undefined, out);
      if (last) return;
      if (!ok) await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const s of this.streams.values()) s.finish({ code: Status.UNAVAILABLE, details: e.message });
    this.streams.clear();
    this.wake();
  }

  private receive(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      this.socket.destroy();
    }
  }

  /** Response headers, or the trailers (grpc-status) that end the call. */
  private headers(id: number, endStream: boolean, block: Buffer): void {
    const headers = this.hpack.decode(block);
    const st = headers.find(([k]) => k === 'grpc-status');
    const s = this.streams.get(id);
    if (s && (st || endStream)) {
      const msg = headers.find(([k]) => k === 'grpc-message')?.[1] ?? '';
      this.streams.delete(id);
      s.finish({ code: st ? Number(st[1]) : Status.UNKNOWN, details: decodeURIComponent(msg) });
    }
  }

  private credit(n: number): void {
    this.connUncredited += n;
    if (this.connUncredited >= WINDOW) {
      this.windowUpdate(0, this.connUncredited);
      this.connUncredited = 0;
    }
  }

  private control(type: number, flags: number, id: number, p: Buffer): void {
    switch (type) {
      case Frame.SETTINGS:
        if (flags & ACK) return;
        for (let j = 0; j + 6 <= p.length; j += 6) {
          const key = p.readUInt16BE(j);
          const v = p.readUInt32BE(j + 2);
          if (key === 0x4) {
            for (const s of this.streams.values()) s.sendWindow += v - this.peerWindow;
            this.peerWindow = v;
          } else if (key === 0x5) this.peerMaxFrame = v;
        }
        this.frame(Frame.SETTINGS, ACK, 0);
        this.onSettings();
        this.wake();
        return;
      case Frame.WINDOW_UPDATE: {
        const inc = p.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) this.connWindow += inc;
        else {
          const s = this.streams.get(id);
          if (s) s.sendWindow += inc;
        }
        this.wake();
        return;
      }
      case Frame.PING:
        if (!(flags & ACK)) this.frame(Frame.PING, ACK, 0, Buffer.from(p));
        return;
      case Frame.RST_STREAM: {
        const s = this.streams.get(id);
        this.streams.delete(id);
        s?.finish({ code: Status.CANCELLED, details: `stream reset (${p.length >= 4 ? p.readUInt32BE(0) : '?'})` });
        return;
      }
      case Frame.GOAWAY:
        this.fail(new Error('server sent GOAWAY'));
        return;
      default:
        return;
    }
  }
}
