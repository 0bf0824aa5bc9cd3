import type { Logger } from '../core/logger';
import type { GcStats } from './gc';

/** containerd's gc scheduler default: a collection after this many metadata mutations. */
export const MUTATION_THRESHOLD = 100;

export interface GcSchedulerOptions {
  /** Delay between `schedule()` (or the mutation threshold) and the collection. */
  delayMs: number;
  mutationThreshold?: number;
  log: Logger;
}

/**
 * Serializes collections and schedules background ones, like containerd's gc scheduler:
 * deletions call `schedule()` (containerd marks the DB dirty on deletes), and every
 * `mutationThreshold` other mutations schedule one too. Scheduling on every mutation would
 * collect unreferenced content a moment after `ctr content ingest` wrote it, which containerd
 * does not do. Mutations made by a collection itself are not counted.
 */
export class GcScheduler {
  private running: Promise<GcStats> | undefined;
  private queued: Promise<GcStats> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: { at: number; timer: NodeJS.Timeout } | undefined;
  private mutations = 0;
  private collecting = false;
  private closed = false;
  /** Completed collections (tests and introspection). */
  runs = 0;
  last: GcStats | undefined;

  constructor(
    private readonly run: () => Promise<GcStats>,
    private readonly opts: GcSchedulerOptions,
  ) {}

  /** Runs a collection now, after any running one (a running one may have marked before the caller's delete). */
  collect(): Promise<GcStats> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const after = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    this.queued = after;
    return after;
  }

  /** Runs a collection `delayMs` from now unless one is already pending. */
  schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.collect().catch((e) => this.opts.log.error('gc failed', { err: e as Error }));
    }, this.opts.delayMs);
    this.timer.unref?.();
  }

  /**
   * Collects at `at` (a lease's `containerd.io/gc.expire`), so an expired lease gives its
   * resources back then rather than at the next unrelated collection. Keeps the earliest.
   */
  wakeAt(at: Date): void {
    const t = at.getTime();
    if (this.closed || (this.wake && this.wake.at <= t)) return;
    if (this.wake) clearTimeout(this.wake.timer);
    // setTimeout holds at most ~24.8 days; a later expiry re-arms after that collection.
    const delay = Math.min(Math.max(0, t - Date.now()) + 10, 0x7fffffff);
    const timer = setTimeout(() => {
      this.wake = undefined;
      this.collect().catch((e) => this.opts.log.error('gc failed', { err: e as Error }));
    }, delay);
    timer.unref?.();
    this.wake = { at: t, timer };
  }

  /** Hook for MetadataDB.onMutation. */
  onMutation(): void {
    if (this.collecting) return;
    if (++this.mutations >= (this.opts.mutationThreshold ?? MUTATION_THRESHOLD)) this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.wake) clearTimeout(this.wake.timer);
    this.wake = undefined;
    await Promise.allSettled([this.running, this.queued]);
  }

  private start(): Promise<GcStats> {
    this.mutations = 0;
    this.collecting = true;
    const p = this.run().then((s) => {
      this.runs++;
      this.last = s;
      this.opts.log.debug('gc collected', { ...s });
      if (s.nextLeaseExpiry) this.wakeAt(s.nextLeaseExpiry);
      return s;
    });
    this.running = p;
    const done = () => {
      if (this.running === p) {
        this.running = undefined;
        this.collecting = false;
      }
    };
    p.then(done, done);
    return p;
  }
}
