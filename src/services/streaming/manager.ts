import type { ServerCall } from '../../transport';
import type { AnyValue } from '../../api';
import { alreadyExists, failedPrecondition, notFound, resourceExhausted } from '../../core/errors';
import { writeMessage } from '../grpc/handlers';

/**
 * The streams clients open with Streaming/Stream, kept by namespace and id until a Transfer
 * takes them (containerd's plugins/streaming manager). A stream carries Any messages both ways:
 * progress from the server, AuthRequest/AuthResponse, or bytes (Data with WindowUpdate credit).
 * Each is taken at most once. One nobody takes within `claimTimeoutMs` is ended
 * (DEADLINE_EXCEEDED), so that a client cannot park calls here for ever; there are at most
 * `maxStreams` at once (the transport already bounds calls per connection).
 */
export interface AnyStream {
  readonly id: string;
  /** Sends one message with the call's backpressure; rejects once the call has ended. */
  send(msg: AnyValue): Promise<void>;
  /** The client's next message; undefined once the client ended its side or the call is gone. */
  recv(): Promise<AnyValue | undefined>;
  /** Ends the call with OK (the client's reader sees the end of the stream). Idempotent. */
  close(): void;
  /** Whether the call ended (closed here, or reset by the client). */
  readonly ended: boolean;
  /** Whether the client reset the call (rather than ending its side). */
  readonly reset: boolean;
  /** Resolves when the call ends, whichever side ended it. */
  readonly done: Promise<void>;
}

export interface StreamManagerOptions {
  claimTimeoutMs?: number;
  maxStreams?: number;
}

export const DEFAULT_CLAIM_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_STREAMS = 4096;

interface Entry {
  stream: ServerStream;
  claimed: boolean;
  timer?: NodeJS.Timeout;
}

export class StreamManager {
  private readonly streams = new Map<string, Entry>();
  private readonly claimTimeoutMs: number;
  private readonly maxStreams: number;

  constructor(o: StreamManagerOptions = {}) {
    this.claimTimeoutMs = o.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
    this.maxStreams = o.maxStreams ?? DEFAULT_MAX_STREAMS;
  }

  get size(): number {
    return this.streams.size;
  }

  register(ns: string, stream: ServerStream): void {
    const key = `${ns}\0${stream.id}`;
    if (this.streams.has(key)) throw alreadyExists(`stream ${JSON.stringify(stream.id)}: already exists`);
    if (this.streams.size >= this.maxStreams) throw resourceExhausted(`streams: ${this.maxStreams} open already`);
    const entry: Entry = { stream, claimed: false };
    entry.timer = setTimeout(() => {
      if (!entry.claimed) stream.fail({ code: 4, details: `stream ${JSON.stringify(stream.id)}: no transfer used it within ${this.claimTimeoutMs / 1000}s` });
    }, this.claimTimeoutMs);
    entry.timer.unref();
    this.streams.set(key, entry);
    void stream.done.then(() => {
      clearTimeout(entry.timer);
      if (this.streams.get(key) === entry) this.streams.delete(key);
    });
  }

  /** Ends every stream (berthd is shutting down): their transfers see them end. */
  closeAll(details: string): void {
    for (const e of this.streams.values()) e.stream.fail({ code: 14, details });
  }

  /** The stream for one use; NotFound when there is none, FailedPrecondition when another transfer has it. */
  take(ns: string, id: string, what: string): AnyStream {
    const entry = this.streams.get(`${ns}\0${id}`);
    if (!entry || entry.stream.ended)
      throw notFound(`${what} stream ${JSON.stringify(id)}: not found (open it with Streaming/Stream in namespace ${JSON.stringify(ns)} first)`);
    if (entry.claimed) throw failedPrecondition(`${what} stream ${JSON.stringify(id)}: already used by another transfer`);
    entry.claimed = true;
    clearTimeout(entry.timer);
    return entry.stream;
  }
}

/** The server side of one Streaming/Stream call after its StreamInit. */
export class ServerStream implements AnyStream {
  private finished = false;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly id: string,
    private readonly call: ServerCall<AnyValue, AnyValue>,
    private readonly next: () => Promise<IteratorResult<AnyValue>>,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    const end = () => this.finish();
    call.once('cancelled', end);
    call.once('close', end);
  }

  get ended(): boolean {
    return this.finished || this.call.cancelled;
  }

  get reset(): boolean {
    return this.call.cancelled;
  }

  async send(msg: AnyValue): Promise<void> {
    if (this.ended) throw failedPrecondition(`stream ${JSON.stringify(this.id)}: closed`);
    await writeMessage(this.call, msg);
  }

  async recv(): Promise<AnyValue | undefined> {
    if (this.finished) return undefined;
    const r = await this.next();
    return r.done ? undefined : r.value;
  }

  close(): void {
    if (this.finished) return;
    this.finish();
    if (!this.call.cancelled) this.call.end();
  }

  /** Ends the call with an error status. */
  fail(st: { code: number; details: string }): void {
    if (this.finished) return;
    this.finish();
    if (!this.call.cancelled) this.call.sendStatus(st);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveDone();
  }
}
