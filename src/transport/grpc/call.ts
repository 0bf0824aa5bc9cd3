/**
 * One gRPC call on the server, for all four method kinds and both HTTP/2 backends: it implements
 * the ServerCall interface (call-interface.ts) over a CallPort, the few things a backend's stream
 * does. It offers handlers the part of grpc-js's call API berth uses (request, metadata,
 * cancelled, write/end, 'data'/'end'/'cancelled'/'close'/'drain', pause/resume), plus raw
 * request pieces (takeRequestBytes).
 */
import { EventEmitter } from 'node:events';
import { Status } from './codes';
import type { MethodDef, MetadataReader, RequestFramer, ServerCall, StatusLike } from './call-interface';
import { Deadline } from './deadline';
import { frameMessage, type MessageBudget, MessageDecoder } from './messages';

export type { MethodDef, StatusLike } from './call-interface';

/** What a backend's stream does for a call. */
export interface CallPort {
  /** Response headers (:status 200, content-type). */
  sendHeaders(): void;
  /** One framed message, in pieces. */
  sendMessage(pieces: Buffer[]): void;
  /** Written bytes wait above the high-water mark: the call's writer should wait for drain(). */
  congested(highWater: number): boolean;
  /** Trailers (a trailers-only response when no headers went out) and the end of the stream. */
  sendStatus(code: number, details: string, headersSent: boolean): void;
  /** The call took `n` request bytes: the client may send that many more. */
  consumed(n: number): void;
  /** Stop or restart delivering request bytes (flow control then stops the client). */
  setReading(on: boolean): void;
}

const { INTERNAL, UNIMPLEMENTED, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, UNKNOWN } = Status;

/** write() reports backpressure above this many bytes waiting for the client's window or the socket. */
const HIGH_WATER = 1 << 20;

export class ServerCallImpl<Req = unknown, Res = unknown> extends EventEmitter implements ServerCall<Req, Res> {
  request = undefined as Req;
  cancelled = false;
  /** Decoded messages not yet handed to the handler. */
  private readonly readQueue: Req[] = [];
  private decoder: MessageDecoder;
  private framer: RequestFramer | undefined;
  /** Bytes received but not fed to the decoder (paused, or waiting for message budget). */
  private backlog: Buffer[] = [];
  private waitingBudget = false;
  private flowing: boolean | null = null;
  private remoteEnded = false;
  private endEmitted = false;
  finished = false;
  private headersSent = false;
  private needDrain = false;
  private deadline: Deadline | undefined;
  /** Unary and server-streaming: called once the single request is in. */
  onRequest: (() => void) | undefined;
  /** The call finished (status sent, or reset): the server's slot bookkeeping. */
  onFinish: (() => void) | undefined;

  constructor(
    private readonly port: CallPort,
    private readonly method: MethodDef,
    readonly metadata: MetadataReader,
    private readonly maxReceive: number,
    private readonly budget?: MessageBudget,
  ) {
    super();
    this.decoder = new MessageDecoder(maxReceive, budget);
  }

  setDeadline(ms: number): void {
    this.deadline = new Deadline(ms, () => {
      if (this.finished) return;
      this.sendStatus({ code: DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
      this.cancelled = true;
      this.emit('cancelled', 'deadline');
    });
  }

  takeRequestBytes(make: (maxMessageBytes: number) => RequestFramer): boolean {
    if (this.framer || !this.decoder.atBoundary || this.readQueue.length || this.waitingBudget) return false;
    this.framer = make(this.maxReceive);
    return true;
  }

  // --- the reading side (Readable-like: flows once a 'data' listener is added, unless paused)

  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    if (event === 'data' && this.flowing === null) this.resume();
    return this;
  }

  pause(): this {
    if (this.flowing !== false) this.port.setReading(false);
    this.flowing = false;
    return this;
  }

  resume(): this {
    if (this.flowing) return this;
    if (this.flowing === false) this.port.setReading(true);
    this.flowing = true;
    process.nextTick(() => this.flow());
    return this;
  }

  isPaused(): boolean {
    return this.flowing === false;
  }

  /** Request bytes from the backend. */
  data(chunk: Buffer): void {
    if (this.finished) return;
    if (this.backlog.length || this.waitingBudget || (this.method.requestStream && !this.flowing) || this.readQueue.length) {
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
      this.feedBacklog();
      if (this.finished || this.waitingBudget) return;
      if (this.readQueue.length !== 1) {
        this.fail(
          this.readQueue.length ? UNIMPLEMENTED : INTERNAL,
          this.readQueue.length ? 'received more than one request message for a unary method' : 'no request message received',
        );
        return;
      }
      this.request = this.readQueue.shift()!;
      this.onRequest?.();
      return;
    }
    this.flow();
  }

  private feedBacklog(): void {
    while (this.backlog.length && !this.finished && !this.waitingBudget) this.feed(this.backlog.shift()!);
  }

  /** Decodes `chunk` (or hands it to the handler's framer); stops early when the message budget is spent. */
  private feed(chunk: Buffer): void {
    let msgs: Buffer[];
    try {
      msgs = (this.framer ?? this.decoder).push(chunk);
    } catch (e) {
      const msg = (e as Error).message;
      this.fail(/larger than max/.test(msg) ? RESOURCE_EXHAUSTED : INTERNAL, msg);
      return;
    }
    const rest = this.framer ? undefined : this.decoder.rest;
    this.port.consumed(rest ? chunk.length - rest.length : chunk.length);
    if (rest) this.waitForBudget(rest);
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

  /** The connection's message budget is spent: stop reading until it has room for this message. */
  private waitForBudget(rest: Buffer): void {
    this.backlog.unshift(rest);
    this.waitingBudget = true;
    this.port.setReading(false);
    this.budget!.wait(() => {
      this.waitingBudget = false;
      if (this.finished) return;
      if (this.flowing !== false) this.port.setReading(true);
      this.feedBacklog();
      if (this.method.requestStream) this.flow();
      else if (this.remoteEnded && !this.waitingBudget) this.remoteEnd();
    });
  }

  private flow(): void {
    while (this.flowing && !this.finished) {
      if (this.readQueue.length) this.emit('data', this.readQueue.shift());
      else if (this.backlog.length && !this.waitingBudget) this.feed(this.backlog.shift()!);
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
    return this.writeEncoded(body);
  }

  writeEncoded(body: Buffer): boolean {
    if (this.finished) return true;
    if (!this.headersSent) {
      this.headersSent = true;
      this.port.sendHeaders();
    }
    this.port.sendMessage(frameMessage(body));
    if (this.port.congested(HIGH_WATER)) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  sendStatus(st: StatusLike): void {
    if (this.finished) return;
    this.finish();
    this.port.sendStatus(st.code, st.details, this.headersSent);
    process.nextTick(() => this.emit('close'));
  }

  /** For unary handlers: grpc-js's callback(err, value). */
  readonly callback = (err: unknown, value?: unknown): void => {
    if (err) this.sendStatus(statusOf(err));
    else {
      this.write(value as Res);
      this.sendStatus({ code: 0, details: '' });
    }
  };

  // --- from the backend's stream

  drain(): void {
    if (this.needDrain && !this.port.congested(HIGH_WATER / 2)) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  reset(): void {
    if (this.finished) return;
    this.finish();
    this.cancelled = true;
    this.emit('cancelled', 'reset');
    process.nextTick(() => this.emit('close'));
  }

  private finish(): void {
    this.finished = true;
    this.deadline?.clear();
    this.backlog = [];
    this.decoder.drop();
    this.onFinish?.();
  }
}

export function statusOf(err: unknown): StatusLike {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof e?.code === 'number') return { code: e.code, details: String(e.details ?? e.message ?? '') };
  return { code: UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}
