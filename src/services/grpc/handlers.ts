import { type ServerCall, Status, type StreamHandler, type UnaryCallback, type UnaryHandler } from '../../transport';
import type { Ctx } from '../../core/context';
import type { Logger } from '../../core/logger';
import { ctxFromMetadata } from './context';
import { type StatusObject, toStatus } from './status';

/**
 * BERTH_TRACE_RPC=1: one info line per call with its start (ms since berthd started) and its
 * handler time, to find where a client's sequence of calls spends its time (the gaps between
 * calls are client and transport). Off by default: it costs a log line per call.
 */
const TRACE = process.env.BERTH_TRACE_RPC === '1';

function traced(log: Logger, method: string): () => void {
  const t0 = performance.now();
  return () => log.info('rpc', { method, at: Math.round(t0 * 100) / 100, ms: Math.round((performance.now() - t0) * 100) / 100 });
}

/**
 * Every handler is registered through these wrappers, which await it and map its errors to a
 * status (the server only learns from the returned promise when the handler is done: it keeps
 * the call's handler slot until then, even after a client reset).
 */

/**
 * The call's cancellation as an AbortSignal, made on first use: most handlers never look at
 * it, and an AbortController plus its listener cost ~15 µs of every call. `finish()` detaches the
 * listener once the handler is done, so a finished call keeps no closure alive.
 */
function cancellation(call: { cancelled: boolean } & NodeJS.EventEmitter): { signal: () => AbortSignal; finish(): void } {
  let ac: AbortController | undefined;
  const onCancel = () => ac?.abort();
  return {
    signal: () => {
      if (!ac) {
        ac = new AbortController();
        if (call.cancelled) ac.abort();
        else call.on('cancelled', onCancel);
      }
      return ac.signal;
    },
    finish: () => {
      if (ac) call.off('cancelled', onCancel);
    },
  };
}

function report(log: Logger, method: string, e: unknown) {
  const st = toStatus(e);
  if (st.code === Status.UNKNOWN || st.code === Status.INTERNAL) log.error('rpc failed', { method, code: st.code, err: st.details });
  else if (st.code !== Status.CANCELLED) log.debug('rpc error', { method, code: st.code, err: st.details });
  return st;
}

function failStream(call: ServerCall<any, any>, st: StatusObject) {
  call.sendStatus(st);
}

export type UnaryFn<Req, Res> = (req: Req, ctx: Ctx, call: ServerCall<Req, Res>) => Promise<Res>;
export type ServerStreamFn<Req, Res> = (req: Req, ctx: Ctx, call: ServerCall<Req, Res>) => Promise<void>;
export type BidiFn<Req, Res> = (ctx: Ctx, call: ServerCall<Req, Res>) => Promise<void>;

export function unary<Req, Res>(log: Logger, method: string, fn: UnaryFn<Req, Res>): UnaryHandler {
  return (call: ServerCall<Req, Res>, callback: UnaryCallback) => {
    const done = TRACE ? traced(log, method) : undefined;
    const c = cancellation(call);
    let ctx: Ctx;
    try {
      ctx = ctxFromMetadata(call.metadata, log, c.signal);
    } catch (e) {
      c.finish();
      callback(report(log, method, e));
      return;
    }
    return fn(call.request, ctx, call).then(
      (res) => {
        c.finish();
        done?.();
        callback(null, res);
      },
      (e) => {
        c.finish();
        done?.();
        callback(report(log, method, e));
      },
    );
  };
}

export function serverStream<Req, Res>(log: Logger, method: string, fn: ServerStreamFn<Req, Res>): StreamHandler {
  return (call: ServerCall<Req, Res>) => {
    const done = TRACE ? traced(log, method) : undefined;
    const c = cancellation(call);
    let ctx: Ctx;
    try {
      ctx = ctxFromMetadata(call.metadata, log, c.signal);
    } catch (e) {
      failStream(call, report(log, method, e));
      return;
    }
    return fn(call.request, ctx, call).then(
      () => {
        c.finish(); // ctr resets every finished stream: that is no cancellation
        done?.();
        call.end();
      },
      (e) => {
        c.finish();
        failStream(call, report(log, method, e));
      },
    );
  };
}

export function bidi<Req, Res>(log: Logger, method: string, fn: BidiFn<Req, Res>): StreamHandler {
  return (call: ServerCall<Req, Res>) => {
    const c = cancellation(call);
    let ctx: Ctx;
    try {
      ctx = ctxFromMetadata(call.metadata, log, c.signal);
    } catch (e) {
      failStream(call, report(log, method, e));
      return;
    }
    // A handler that throws before its first await fails the call as one that rejects does.
    return new Promise<void>((resolve) => resolve(fn(ctx, call))).then(
      () => {
        c.finish();
        call.end();
      },
      (e) => {
        c.finish();
        failStream(call, report(log, method, e));
      },
    );
  };
}

/** Writes with backpressure: waits for 'drain' when the transport buffer is full. */
export async function writeMessage<T>(call: ServerCall<any, T>, msg: T): Promise<void> {
  if (call.write(msg)) return;
  await drained(call);
}

/** Resolves once a call whose write() returned false may be written again (or has ended). */
export function drained(call: ServerCall<any, any>): Promise<void> {
  // Wait for whichever comes first, then drop every listener (a long stream must not leak them).
  return new Promise<void>((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
}
