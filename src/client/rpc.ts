/**
 * Calls over berth's own HTTP/2 client channel (src/transport's H2Channel) with the generated
 * codecs: no grpc-js and no .proto parser are loaded. The four call kinds, each with the
 * namespace header, an optional deadline and an AbortSignal; failures come back as berth's error
 * kinds (errors.ts). Server streams are async iterables that give the server's window back only
 * as the caller takes messages, so a slow reader holds at most one stream window.
 */
import type { DeepPartial, MethodDescriptor } from '../api/descriptors';
import { type ClientStream, type H2Channel, Status } from '../transport';
import { callError, connectError } from './errors';

export interface CallOptions {
  /** Ends the call (CANCELLED at the server; the caller gets a Canceled error). */
  signal?: AbortSignal;
  /** A deadline for the whole call, sent as grpc-timeout too. */
  timeoutMs?: number;
  /** Overrides the client's namespace for this call ('' sends none). */
  namespace?: string;
  /** More request metadata (e.g. `containerd-lease`). */
  metadata?: Record<string, string>;
}

/** What the service objects call through (the Client owns the channel). */
export interface Transport {
  readonly address: string;
  readonly namespace: string;
  channel(): H2Channel;
}

/** A server-streaming call: iterate it; `cancel()` (or breaking out of the loop) ends it. */
export interface ResponseStream<Res> extends AsyncIterable<Res> {
  cancel(): void;
}

/** A client-streaming or bidirectional call. */
export interface DuplexCall<Req, Res> extends AsyncIterable<Res> {
  /** Sends one message; resolves once flow control took it. */
  send(req: DeepPartial<Req>): Promise<void>;
  /** Half-closes: no more messages from this side. */
  end(): Promise<void>;
  cancel(): void;
  /** Settles when the call ends: resolves on OK, rejects with the mapped error otherwise. */
  readonly done: Promise<void>;
}

function metadataOf(t: Transport, o: CallOptions): Record<string, string> {
  const md: Record<string, string> = { ...(o.metadata ?? {}) };
  const ns = o.namespace ?? t.namespace;
  if (ns) md['containerd-namespace'] = ns;
  if (o.timeoutMs !== undefined) md['grpc-timeout'] = `${Math.max(1, Math.ceil(o.timeoutMs))}m`;
  return md;
}

/** Opens the stream, wiring cancellation (signal, deadline) to RST_STREAM. */
async function open(t: Transport, path: string, o: CallOptions): Promise<{ s: ClientStream; release(): void }> {
  o.signal?.throwIfAborted();
  let s: ClientStream;
  try {
    s = await t.channel().call(path, metadataOf(t, o));
  } catch (e) {
    throw connectError(t.address, e);
  }
  const onAbort = () => s.cancel(o.signal?.reason instanceof Error ? o.signal.reason.message : 'cancelled by the caller');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = o.timeoutMs !== undefined ? setTimeout(() => s.cancel('Deadline exceeded'), o.timeoutMs) : undefined;
  if (timer) void s.status.then(() => clearTimeout(timer));
  return {
    s,
    release: () => {
      o.signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    },
  };
}

/** The call's status as an error, or undefined for OK. A local deadline reads as DEADLINE_EXCEEDED. */
function statusError(st: { code: number; details: string }, path: string): Error | undefined {
  if (st.code === Status.OK) return undefined;
  const code = st.code === Status.CANCELLED && st.details === 'Deadline exceeded' ? Status.DEADLINE_EXCEEDED : st.code;
  return callError(code, st.details, path);
}

export async function unaryCall<Req, Res>(t: Transport, m: MethodDescriptor<Req, Res>, req: DeepPartial<Req>, o: CallOptions = {}): Promise<Res> {
  const { s, release } = await open(t, m.path, o);
  let res: Res | undefined;
  let decodeError: unknown;
  s.onMessage = (b) => {
    try {
      res = m.decodeResponse(b);
    } catch (e) {
      decodeError = e;
    }
  };
  try {
    await s.write(m.encodeRequest(m.fromPartialRequest(req)));
    await s.end();
  } catch {
    /* the status says why */
  }
  const st = await s.status;
  release();
  const err = statusError(st, m.path);
  if (err) throw err;
  if (decodeError) throw callError(Status.INTERNAL, `${m.path}: cannot decode the response: ${(decodeError as Error).message}`, m.path);
  if (res === undefined) throw callError(Status.INTERNAL, `${m.path}: no response message`, m.path);
  return res;
}

/** Messages of a stream in arrival order, crediting the server's window as they are taken. */
class Inbox<Res> implements AsyncIterator<Res> {
  private readonly queue: Buffer[] = [];
  private wake: (() => void) | undefined;
  private ended: { error?: Error } | undefined;

  constructor(
    private readonly s: ClientStream,
    private readonly decode: (b: Uint8Array) => Res,
    path: string,
    release: () => void,
  ) {
    s.manualCredit = true;
    s.onMessage = (b) => {
      this.queue.push(b);
      this.wake?.();
    };
    void s.status.then((st) => {
      release();
      this.ended = { error: statusError(st, path) };
      this.wake?.();
    });
  }

  async next(): Promise<IteratorResult<Res>> {
    for (;;) {
      const b = this.queue.shift();
      if (b) {
        this.s.consumed(b.length);
        return { value: this.decode(b), done: false };
      }
      if (this.ended) {
        if (this.ended.error) throw this.ended.error;
        return { value: undefined, done: true };
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<Res>> {
    this.s.cancel();
    return { value: undefined, done: true };
  }
}

export function serverStreamCall<Req, Res>(t: Transport, m: MethodDescriptor<Req, Res>, req: DeepPartial<Req>, o: CallOptions = {}): ResponseStream<Res> {
  const opened = open(t, m.path, o).then(async ({ s, release }) => {
    const inbox = new Inbox(s, (b) => m.decodeResponse(b), m.path, release);
    await s.write(m.encodeRequest(m.fromPartialRequest(req))).then(
      () => s.end(),
      () => undefined,
    );
    return { s, inbox };
  });
  opened.catch(() => undefined);
  let cancelled = false;
  return {
    cancel: () => {
      cancelled = true;
      void opened.then(
        ({ s }) => s.cancel(),
        () => undefined,
      );
    },
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const { inbox, s } = await opened;
        if (cancelled) s.cancel();
        return inbox.next();
      },
      return: async () => {
        cancelled = true;
        const o2 = await opened.catch(() => undefined);
        return o2 ? o2.inbox.return() : { value: undefined, done: true };
      },
    }),
  };
}

export function duplexCall<Req, Res>(t: Transport, m: MethodDescriptor<Req, Res>, o: CallOptions = {}): DuplexCall<Req, Res> {
  const opened = open(t, m.path, o).then(({ s, release }) => ({ s, inbox: new Inbox(s, (b) => m.decodeResponse(b), m.path, release) }));
  opened.catch(() => undefined);
  const done = opened.then(async ({ s }) => {
    const e = statusError(await s.status, m.path);
    if (e) throw e;
  });
  done.catch(() => undefined);
  return {
    done,
    send: async (req) => {
      const { s } = await opened;
      if (s.closed) return done; // the call is over: its status says why
      await s.write(m.encodeRequest(m.fromPartialRequest(req))).catch(() => done);
    },
    end: async () => {
      const { s } = await opened;
      if (!s.closed) await s.end().catch(() => undefined);
    },
    cancel: () =>
      void opened.then(
        ({ s }) => s.cancel(),
        () => undefined,
      ),
    [Symbol.asyncIterator]: () => ({
      next: async () => (await opened).inbox.next(),
      return: async () => (await opened).inbox.return(),
    }),
  };
}
