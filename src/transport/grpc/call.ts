/**
 * One gRPC call on the server, for all four method kinds. It offers handlers the part of
 * grpc-js's call API berth uses (request, metadata, cancelled, write/end, 'data'/'end'/
 * 'cancelled'/'close'/'drain', pause/resume), so services did not change with the transport.
 */
import { EventEmitter } from 'node:events';
import { Status } from './codes';
import type { StreamEvents, H2Stream } from '../h2/stream';
import { type CallMetadata, frameMessage, MessageDecoder, RESPONSE_HEADERS, statusBlock } from './messages';

export interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
}

export interface StatusLike {
  code: number;
  details: string;
}

const { INTERNAL, UNIMPLEMENTED, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, UNKNOWN } = Status;

/** write() reports backpressure above this many bytes waiting for the client's window. */
const HIGH_WATER = 1 << 20;

export class ServerCall<Req = unknown, Res = unknown> extends EventEmitter {
  request = undefined as Req;
  cancelled = false;
  /** Replaceable (Content/Write's tap): framed messages out of the stream's bytes. */
  decoder: { write(b: Buffer): Buffer[] };
  /** Decoded messages not yet handed to the handler. */
  readonly readQueue: Req[] = [];
  /** Bytes received while the reader was paused, not yet decoded (nor credited to the window). */
  private backlog: Buffer[] = [];
  private flowing: boolean | null = null;
  private remoteEnded = false;
  private endEmitted = false;
  private finished = false;
  private headersSent = false;
  private needDrain = false;
  private deadline: NodeJS.Timeout | undefined;
  /** Unary and server-streaming: called once the single request is in. */
  onRequest: (() => void) | undefined;

  constructor(
    private readonly stream: H2Stream,
    private readonly method: MethodDef,
    readonly metadata: CallMetadata,
    maxReceive: number,
  ) {
    super();
    this.decoder = new MessageDecoder(maxReceive);
  }

  setDeadline(ms: number): void {
    this.deadline = setTimeout(() => {
      if (this.finished) return;
      this.sendStatus({ code: DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
      this.cancelled = true;
      this.emit('cancelled', 'deadline');
    }, ms);
    this.deadline.unref();
  }

  // --- the reading side (Readable-like: flows once a 'data' listener is added, unless paused)

  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    if (event === 'data' && this.flowing === null) this.resume();
    return this;
  }

  pause(): this {
    this.flowing = false;
    return this;
  }

  resume(): this {
    if (this.flowing) return this;
    this.flowing = true;
    process.nextTick(() => this.flow());
    return this;
  }

  isPaused(): boolean {
    return this.flowing === false;
  }

  data(chunk: Buffer): void {
    if (this.finished) return;
    if (this.backlog.length || (this.method.requestStream && !this.flowing) || this.readQueue.length) {
      this.backlog.push(chunk);
      if (this.method.requestStream && this.flowing) this.flow();
      return;
    }
    this.feed(chunk);
    if (this.method.requestStream) this.flow();
  }

  /** Ends the call with OK (grpc-js's `call.end()`). */
  end(): void {
    this.sendStatus({ code: 0, details: '' });
  }

  /** Half-close from the client. */
  remoteEnd(): void {
    this.remoteEnded = true;
    if (this.finished) return;
    if (!this.method.requestStream) {
      while (this.backlog.length) this.feed(this.backlog.shift()!);
      if (this.finished) return;
      if (this.readQueue.length !== 1) {
        this.sendStatus({ code: this.readQueue.length ? UNIMPLEMENTED : INTERNAL, details: this.readQueue.length ? 'received more than one request message for a unary method' : 'no request message received' });
        return;
      }
      this.request = this.readQueue.shift()!;
      this.onRequest?.();
      return;
    }
    this.flow();
  }

  private feed(chunk: Buffer): void {
    let msgs: Buffer[];
    try {
      msgs = this.decoder.write(chunk);
    } catch (e) {
      const msg = (e as Error).message;
      this.fail(/larger than max/.test(msg) ? RESOURCE_EXHAUSTED : INTERNAL, msg);
      return;
    }
    this.stream.credit(chunk.length);
    for (const m of msgs) {
      if (m[0] !== 0) {
        this.fail(UNIMPLEMENTED, 'berth: compressed gRPC messages are not supported');
        return;
      }
      try {
        this.readQueue.push(this.method.requestDeserialize(m.subarray(5)) as Req);
      } catch (e) {
        this.fail(INTERNAL, `Error deserializing request: ${(e as Error).message}`);
        return;
      }
    }
  }

  private flow(): void {
    while (this.flowing && !this.finished) {
      if (this.readQueue.length) this.emit('data', this.readQueue.shift());
      else if (this.backlog.length) this.feed(this.backlog.shift()!);
      else break;
    }
    // As a Readable: 'end' only while flowing, after the last message was taken.
    if (this.flowing && this.remoteEnded && !this.endEmitted && !this.finished && !this.readQueue.length && !this.backlog.length) {
      this.endEmitted = true;
      this.emit('end');
    }
  }

  /** The call cannot go on: end it with a status and tell the handler it is over. */
  private fail(code: number, details: string): void {
    if (this.finished) return;
    this.sendStatus({ code, details });
    this.cancelled = true;
    this.emit('cancelled', details);
  }

  // --- the writing side

  write(msg: Res): boolean {
    if (this.finished) return true; // nothing more goes out: callers must not wait for a drain
    let body: Buffer;
    try {
      body = this.method.responseSerialize(msg);
    } catch (e) {
      this.sendStatus({ code: INTERNAL, details: `Failed to serialize response: ${(e as Error).message}` });
      return true;
    }
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.headers(RESPONSE_HEADERS, false);
    }
    for (const b of frameMessage(body)) this.stream.data(b);
    if (this.stream.queued > HIGH_WATER) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  sendStatus(st: StatusLike): void {
    if (this.finished) return;
    this.finished = true;
    if (this.deadline) clearTimeout(this.deadline);
    const block = statusBlock(st.code, st.details, this.headersSent);
    if (this.headersSent) this.stream.end(block);
    else this.stream.headers(block, true);
    this.backlog = [];
    process.nextTick(() => this.emit('close'));
  }

  /** For unary handlers: grpc-js's callback(err, value). */
  readonly callback = (err: unknown, value?: Res): void => {
    if (err) this.sendStatus(statusOf(err));
    else {
      this.write(value as Res);
      this.sendStatus({ code: 0, details: '' });
    }
  };

  // --- StreamEvents from the connection

  drain(): void {
    if (this.needDrain && this.stream.queued <= HIGH_WATER / 2) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  reset(): void {
    if (this.finished) return;
    this.finished = true;
    this.cancelled = true;
    if (this.deadline) clearTimeout(this.deadline);
    this.backlog = [];
    this.emit('cancelled', 'reset');
    process.nextTick(() => this.emit('close'));
  }
}

/** The StreamEvents `end` of a call is the client's half-close; `ServerCall.end()` is ours. */
export function streamEvents(call: ServerCall): StreamEvents {
  return {
    data: (c) => call.data(c),
    end: () => call.remoteEnd(),
    reset: () => call.reset(),
    drain: () => call.drain(),
  };
}

export function statusOf(err: unknown): StatusLike {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof e?.code === 'number') return { code: e.code, details: String(e.details ?? e.message ?? '') };
  return { code: UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}
