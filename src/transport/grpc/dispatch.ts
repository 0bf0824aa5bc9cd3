/**
 * From a request's headers to a running handler, for both backends: the method table, the gRPC
 * request checks (POST, application/grpc), the metadata, the deadline, and the per-connection
 * handler slots (a call holds its slot until its handler is done, even after a reset).
 */
import { Status } from './codes';
import type { Handler, MethodDef, ServiceImpl, StreamHandler, UnaryHandler } from './call-interface';
import { type CallPort, ServerCallImpl, statusOf } from './call';
import { CallMetadata, type MessageBudget, parseTimeout } from './messages';

export interface RequestHead {
  path: string;
  method: string;
  contentType: string;
  timeoutMs: number | undefined;
  metadata: CallMetadata;
}

/** The gRPC view of a request's header fields (name, value pairs in order). */
export function requestHead(fields: Iterable<readonly [string, string]>): RequestHead {
  const head: RequestHead = { path: '', method: '', contentType: '', timeoutMs: undefined, metadata: new CallMetadata() };
  for (const [name, value] of fields) {
    if (name.charCodeAt(0) === 58 /* ':' */) {
      if (name === ':path') head.path = value;
      else if (name === ':method') head.method = value;
      continue;
    }
    switch (name) {
      case 'content-type':
        head.contentType = value;
        continue;
      case 'grpc-timeout':
        head.timeoutMs = parseTimeout(value);
        continue;
      case 'te':
      case 'grpc-encoding':
      case 'grpc-accept-encoding':
        continue;
    }
    head.metadata.add(name, name.endsWith('-bin') ? Buffer.from(value, 'base64') : value);
  }
  return head;
}

/** Handlers running on one connection, against its limit. */
export class HandlerSlots {
  running = 0;

  constructor(
    readonly limit: number,
    private readonly onFree: () => void,
  ) {}

  get full(): boolean {
    return this.running >= this.limit;
  }

  take(): void {
    this.running++;
  }

  free(): void {
    this.running--;
    this.onFree();
  }
}

interface Registered {
  def: MethodDef;
  handler: Handler;
}

/** Finds a method not added (yet) by its path: its definition and handler, or undefined. */
export type MethodResolver = (path: string) => { def: MethodDef; handler: Handler } | undefined;

export class Dispatcher {
  private readonly methods = new Map<string, Registered>();
  private resolver: MethodResolver | undefined;

  constructor(private readonly opts: { maxReceiveMessageLength: number; onError?: (what: string, e: unknown) => void }) {}

  addService(def: Record<string, MethodDef>, impl: ServiceImpl): void {
    for (const [name, m] of Object.entries(def)) {
      const handler = impl[name] as Handler | undefined;
      if (handler) this.methods.set(m.path, { def: m, handler });
    }
  }

  /** Asked for a path no service added (once per path while it answers undefined). */
  setResolver(resolver: MethodResolver | undefined): void {
    this.resolver = resolver;
  }

  private lookup(path: string): Registered | undefined {
    let reg = this.methods.get(path);
    if (!reg && this.resolver) {
      reg = this.resolver(path);
      if (reg) this.methods.set(path, reg);
    }
    return reg;
  }

  /**
   * Starts the call `head` asks for on `port`, in one of `slots`; undefined if it was answered at
   * once (a non-gRPC request is answered by `httpError`, an unknown method with UNIMPLEMENTED).
   */
  start(head: RequestHead, port: CallPort, slots: HandlerSlots, budget: MessageBudget, httpError: (status: number) => void): ServerCallImpl | undefined {
    if (head.method !== 'POST' || !head.contentType.startsWith('application/grpc')) {
      httpError(head.method !== 'POST' ? 405 : 415);
      return undefined;
    }
    const reg = this.lookup(head.path);
    if (!reg) {
      port.sendStatus(Status.UNIMPLEMENTED, `The server does not implement the method ${head.path}`, false);
      return undefined;
    }
    const { def, handler } = reg;
    const call = new ServerCallImpl(port, def, head.metadata, this.opts.maxReceiveMessageLength, budget);
    slots.take();
    let started = false;
    let handlerDone = false;
    let freed = false;
    const release = () => {
      if (!freed && call.finished && (!started || handlerDone)) {
        freed = true;
        slots.free();
      }
    };
    call.onFinish = release;
    if (head.timeoutMs !== undefined) call.setDeadline(head.timeoutMs);
    const run = () => {
      started = true;
      const done = () => {
        handlerDone = true;
        release();
      };
      try {
        const r = def.responseStream ? (handler as StreamHandler)(call) : (handler as UnaryHandler)(call, call.callback);
        if (r && typeof (r as PromiseLike<unknown>).then === 'function') (r as PromiseLike<unknown>).then(done, done);
        else done();
      } catch (e) {
        this.opts.onError?.(head.path, e);
        call.sendStatus(statusOf(e));
        done();
      }
    };
    if (def.requestStream) run();
    else call.onRequest = run;
    return call;
  }
}
