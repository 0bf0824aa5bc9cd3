/**
 * A counting semaphore: at most `n` tasks run at once, the rest wait in FIFO order. A finishing
 * task hands its slot straight to the next waiter (still counted), so a caller arriving meanwhile
 * cannot take it first and run one task too many.
 */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly n: number) {
    if (!(n >= 1)) this.n = 1;
  }

  /** `fn` may give its slot up before it ends (`release`), e.g. once the part worth limiting is over. */
  async run<T>(fn: (release: () => void) => Promise<T>): Promise<T> {
    if (this.running < this.n) this.running++;
    else await new Promise<void>((r) => this.waiting.push(r));
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
    try {
      return await fn(release);
    } finally {
      release();
    }
  }
}
