/**
 * An attach connection to a monitor in capture mode (native/helper/PROTOCOL.md, "Attach"): after
 * the `attach` request line and its JSON answer, both sides exchange frames of an 8-byte header
 * {stream, 0, 0, 0, length u32 big-endian} and a payload. Stream 0 stdin (to the monitor),
 * 1 stdout, 2 stderr, 3 control (`close-stdin`, `resize W H` to the monitor; JSON events
 * `{"dropped":N}` and, last, `{"exit":{...}}` from it).
 *
 * The monitor never waits for an attacher: output that its socket does not take is dropped for
 * that attacher and reported as a `dropped` event. Here the socket is read as fast as the
 * consumer of `events()` pulls; a consumer that stops pulling makes the monitor drop.
 */
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { failedPrecondition, internal, unavailable } from '../../core/errors';
import { errnoToError } from './errno';
import { toExit, type ExitStatus } from './monitor-client';
import { MONITOR_SOCKET } from './paths';

export type AttachStream = 'stdin' | 'stdout' | 'stderr';

export type AttachEvent = { kind: 'stdout' | 'stderr'; data: Buffer } | { kind: 'dropped'; bytes: number } | { kind: 'exit'; exit: ExitStatus };

export interface AttachSession {
  /** The process has a terminal (stdout and stderr are one stream, `stdout`). */
  readonly tty: boolean;
  /** stdin was asked for and the process has one open. */
  readonly stdin: boolean;
  /** Output and events until the process exits or the session is closed; iterate once. */
  events(): AsyncIterable<AttachEvent>;
  /** Sends stdin bytes; resolves once the socket took them (backpressure). */
  write(data: Buffer): Promise<void>;
  /** Closes the process's stdin after the bytes written before (Docker's StdinOnce). */
  closeStdin(): Promise<void>;
  resize(width: number, height: number): Promise<void>;
  /** Detaches; the process goes on. */
  close(): void;
}

export interface PendingAttach {
  /** Settles once the request is in the monitor's socket: a `start` sent after it misses nothing. */
  readonly requested: Promise<void>;
  /** Settles with the monitor's answer (for a process not started yet: once it starts). */
  readonly session: Promise<AttachSession>;
  /** Gives up (before or after the answer). */
  close(): void;
}

const HDR = 8;
const STREAMS = ['stdin', 'stdout', 'stderr', 'control'] as const;
/** Frames bigger than this from the monitor are a protocol error (its buffer is 4 KiB). */
const MAX_FRAME = 1 << 20;

function frame(stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(HDR);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

class Session implements AttachSession {
  private buf: Buffer = Buffer.alloc(0);
  private readonly queue: AttachEvent[] = [];
  private wake?: () => void;
  private ended = false;
  private failure?: unknown;

  constructor(
    private readonly sock: Socket,
    readonly tty: boolean,
    readonly stdin: boolean,
    private readonly what: string,
  ) {}

  /** Bytes after the answer line, then every later chunk. */
  feed(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= HDR) {
      const stream = this.buf[0]!;
      const len = this.buf.readUInt32BE(4);
      if (stream < 1 || stream > 3 || len > MAX_FRAME) return this.end(internal(`${this.what}: bad attach frame from the monitor`));
      if (this.buf.length < HDR + len) break;
      const payload = this.buf.subarray(HDR, HDR + len);
      this.buf = this.buf.subarray(HDR + len);
      if (stream === 3) this.onEvent(payload);
      else this.push({ kind: STREAMS[stream] as 'stdout' | 'stderr', data: Buffer.from(payload) });
    }
    // Pull-based: stop reading while the consumer has a backlog, so the monitor drops rather than us buffering.
    if (this.queue.length > 64) this.sock.pause();
  }

  private onEvent(payload: Buffer) {
    let ev: { dropped?: unknown; exit?: unknown };
    try {
      ev = JSON.parse(payload.toString('utf8')) as typeof ev;
    } catch (e) {
      return this.end(internal(`${this.what}: bad attach event`, { cause: e }));
    }
    if (typeof ev.dropped === 'number') this.push({ kind: 'dropped', bytes: ev.dropped });
    else if (ev.exit && typeof ev.exit === 'object') this.push({ kind: 'exit', exit: toExit(ev.exit) });
  }

  private push(e: AttachEvent) {
    this.queue.push(e);
    this.wake?.();
  }

  end(e?: unknown) {
    if (this.ended) return;
    this.ended = true;
    this.failure = e;
    this.sock.destroy();
    this.wake?.();
  }

  async *events(): AsyncIterable<AttachEvent> {
    for (;;) {
      const e = this.queue.shift();
      if (e) {
        if (this.queue.length < 16) this.sock.resume();
        yield e;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  private async send(b: Buffer): Promise<void> {
    // Input after the end (the process exited, the monitor closed) goes nowhere, as it would
    // with Docker: it must not fail a call that still has output and the exit to deliver.
    if (this.ended || this.sock.destroyed) return;
    if (!this.sock.write(b)) await Promise.race([once(this.sock, 'drain'), once(this.sock, 'close')]);
  }

  async write(data: Buffer): Promise<void> {
    if (!this.stdin) throw failedPrecondition(`${this.what}: stdin is not attached`);
    for (let off = 0; off < data.length; off += 65536) await this.send(frame(0, data.subarray(off, off + 65536)));
  }

  closeStdin(): Promise<void> {
    return this.send(frame(3, Buffer.from('close-stdin')));
  }

  resize(width: number, height: number): Promise<void> {
    return this.send(frame(3, Buffer.from(`resize ${Math.trunc(width)} ${Math.trunc(height)}`)));
  }

  close(): void {
    this.end();
  }
}

/** Connects to `<stateDir>/monitor.sock` and asks to attach to `streams`. */
export function openAttach(stateDir: string, streams: readonly AttachStream[], what = `process ${stateDir}`): PendingAttach {
  const sock = createConnection(join(stateDir, MONITOR_SOCKET));
  let requested!: { resolve: () => void; reject: (e: unknown) => void };
  const requestedP = new Promise<void>((resolve, reject) => (requested = { resolve, reject }));
  const session = new Promise<AttachSession>((resolve, reject) => {
    let line = Buffer.alloc(0);
    let s: Session | undefined;
    const fail = (e: unknown) => {
      requested.reject(e);
      if (s) s.end(e);
      else reject(e);
      sock.destroy();
    };
    sock.on('connect', () => sock.write(`attach ${streams.join(' ')}\n`, (e) => (e ? fail(e) : requested.resolve())));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      // The monitor closes an attach once the process has exited; a write racing that (stdin,
      // close-stdin, a resize) gets EPIPE. That ends the session's input, not its output: what
      // the monitor sent is still read out and the session ends as the close would end it.
      if (s && (e.code === 'EPIPE' || e.code === 'ECONNRESET')) return s.end();
      fail(unavailable(`${what}: attach: ${e.message}`, { cause: e }));
    });
    sock.on('close', () => (s ? s.end() : fail(unavailable(`${what}: the monitor closed the attach connection`))));
    sock.on('data', (chunk: Buffer) => {
      if (s) return s.feed(chunk);
      line = Buffer.concat([line, chunk]);
      const nl = line.indexOf(10);
      if (nl < 0) return line.length > 4096 ? fail(internal(`${what}: attach answer too long`)) : undefined;
      let ans: { ok?: unknown; tty?: unknown; stdin?: unknown; errno?: unknown; msg?: unknown };
      try {
        ans = JSON.parse(line.subarray(0, nl).toString('utf8')) as typeof ans;
      } catch (e) {
        return fail(internal(`${what}: bad attach answer`, { cause: e }));
      }
      if (ans.ok !== true)
        return fail(
          typeof ans.errno === 'number' ? errnoToError(ans.errno, what, String(ans.msg ?? 'attach failed')) : failedPrecondition(`${what}: attach failed`),
        );
      s = new Session(sock, ans.tty === true, ans.stdin === true, what);
      resolve(s);
      if (line.length > nl + 1) s.feed(line.subarray(nl + 1));
    });
  });
  session.catch(() => undefined);
  requestedP.catch(() => undefined);
  return { requested: requestedP, session, close: () => sock.destroy() };
}
