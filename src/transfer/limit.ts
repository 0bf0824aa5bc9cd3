/** A counting semaphore: at most `n` tasks run at once, in FIFO order. */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly n: number) {
    if (!(n >= 1)) this.n = 1;
  }

  /** `fn` may give its slot up before it ends (`release`), e.g. once the part worth limiting is over. */
  async run<T>(fn: (release: () => void) => Promise<T>): Promise<T> {
    if (this.running >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.running--;
      this.waiting.shift()?.();
    };
    try {
      return await fn(release);
    } finally {
      release();
    }
  }
}

/** A promise with its resolve/reject outside (layer i downloaded → unpack may apply it). */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  return { promise, resolve, reject };
}

/** An AbortController that also aborts when `parent` does. */
export function childAbort(parent?: AbortSignal): { controller: AbortController; dispose(): void } {
  const controller = new AbortController();
  if (!parent) return { controller, dispose: () => undefined };
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener('abort', onAbort) };
}
