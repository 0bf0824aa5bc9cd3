import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { nullLogger } from '../../src/core/logger';
import type { Ctx } from '../../src/core/context';
import { serverStream, unary } from '../../src/services/grpc/handlers';

function fakeCall() {
  const md = new grpc.Metadata();
  md.set('containerd-namespace', 'default');
  return Object.assign(new EventEmitter(), { cancelled: false, metadata: md, request: {} });
}

function cancel(call: ReturnType<typeof fakeCall>) {
  call.cancelled = true;
  call.emit('cancelled', 'cancelled');
}

/** Runs a unary handler on a fake call; resolves with what it replied. */
function invoke(call: ReturnType<typeof fakeCall>, fn: (ctx: Ctx) => Promise<unknown>) {
  const h = unary(nullLogger, 'Test/Call', async (_req, ctx) => fn(ctx));
  return new Promise<{ err: unknown; res: unknown }>((resolve) => h(call as never, ((err: unknown, res: unknown) => resolve({ err, res })) as never));
}

describe('unary handler cancellation signal', () => {
  it('aborts a signal taken before the client cancels', async () => {
    const call = fakeCall();
    const r = await invoke(call, async (ctx) => {
      const s = ctx.signal!;
      expect(s.aborted).toBe(false);
      const aborted = new Promise((resolve) => s.addEventListener('abort', resolve, { once: true }));
      cancel(call);
      await aborted;
      return s.aborted;
    });
    expect(r).toEqual({ err: null, res: true });
  });

  it('gives an aborted signal when taken after the client cancelled', async () => {
    const call = fakeCall();
    const r = await invoke(call, async (ctx) => {
      cancel(call);
      await new Promise((resolve) => setImmediate(resolve));
      return ctx.signal!.aborted;
    });
    expect(r).toEqual({ err: null, res: true });
  });

  it('leaves no listener behind once the handler is done', async () => {
    const call = fakeCall();
    await invoke(call, async (ctx) => ctx.signal!.aborted);
    expect(call.listenerCount('cancelled')).toBe(0);
    const untouched = fakeCall();
    await invoke(untouched, async () => 1);
    expect(untouched.listenerCount('cancelled')).toBe(0);
  });
});

describe('server stream cancellation signal', () => {
  it('is detached once the handler is done: the reset ctr sends after a finished stream aborts nothing', async () => {
    const call = Object.assign(fakeCall(), { end: jest.fn() });
    let signal: AbortSignal | undefined;
    const h = serverStream(nullLogger, 'Test/Stream', async (_req, ctx) => {
      signal = ctx.signal;
    });
    h(call as never);
    await new Promise((r) => setImmediate(r));
    expect(call.end).toHaveBeenCalled();
    cancel(call);
    expect(signal!.aborted).toBe(false);
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});
