import type { ServerCall } from '../../transport';

/**
 * Pulls client messages one at a time (pausing the stream between pulls for flow control).
 * The server's call is Readable-like but no Readable (h2/call.ts), so this listens to 'data',
 * 'end', 'error' and 'cancelled' itself. A cancelled call ends the iteration.
 */
export function requests<T, R>(call: ServerCall<T, R>): { next(): Promise<IteratorResult<T>> } {
  const queue: T[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  call.on('data', (m: T) => {
    queue.push(m);
    call.pause();
    poke();
  });
  call.on('end', () => {
    ended = true;
    poke();
  });
  call.on('error', (e: unknown) => {
    failure = e;
    poke();
  });
  call.on('cancelled', () => {
    ended = true;
    poke();
  });
  return {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (queue.length) {
          const value = queue.shift()!;
          if (queue.length === 0) call.resume();
          return { done: false, value };
        }
        if (failure) throw failure;
        if (ended) return { done: true, value: undefined };
        if (call.isPaused()) call.resume();
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
}
