/**
 * Gives memory back after bursts of work. berthd runs with --initial-old-space-size=64 (for
 * ingest: see node-flags.ts), so V8 lets garbage pile up to 64 MiB of old space before it
 * collects, and keeps what it collected committed: after 1,000 `ctr run --rm` cycles berthd sat
 * at ~140 MiB RSS with a live heap of ~13 MiB (heap snapshots after 200 and 1,000 cycles hold the
 * same objects: no leak). When the event loop was nearly idle for a whole period and the heap
 * has grown by `growth` since the last collection, or when it has been idle for `settlePeriods`
 * and grown at all, one full collection (a few ms for berthd's live heap) returns the rest to
 * the OS. Busy periods (an ingest, back-to-back runs) never
 * trigger it, so it costs the ingest nothing. Needs --expose-gc (node-flags.ts; without it, off)
 * and --compact-on-every-full-gc: a full GC frees objects but, without compacting, leaves nearly
 * every page committed (berthd's live objects are spread over most of them), and RSS hardly moves.
 * Node 20's gc() has no memory-reducing flavor.
 */
import { getHeapStatistics } from 'node:v8';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface IdleGcOptions {
  periodMs?: number;
  /** Event-loop utilization below which a period counts as idle. */
  idleUtilization?: number;
  /** Heap growth (committed bytes) since the last collection that makes one worth it. */
  growth?: number;
  /** After this many idle periods in a row, any growth above `settledGrowth` is collected. */
  settlePeriods?: number;
  settledGrowth?: number;
  /** Injectable for tests. */
  gc?: () => void;
  heapBytes?: () => number;
  utilization?: () => number;
}

function utilizationSinceLastCall(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return u;
  };
}

export function startIdleGc(opts: IdleGcOptions = {}): { stop(): void; collections(): number } {
  const gc = opts.gc ?? (globalThis as { gc?: () => void }).gc;
  let count = 0;
  if (!gc) return { stop: () => undefined, collections: () => count };
  const heapBytes = opts.heapBytes ?? (() => getHeapStatistics().total_heap_size);
  const utilization = opts.utilization ?? utilizationSinceLastCall();
  const growth = opts.growth ?? 8 << 20;
  const idle = opts.idleUtilization ?? 0.05;
  const settlePeriods = opts.settlePeriods ?? 4;
  const settledGrowth = opts.settledGrowth ?? 1 << 20;
  // Committed heap right after the last collection (or the smallest seen since). It starts at
  // zero: what start-up left behind (~3 MiB of garbage among ~8 MiB live) is collected in the
  // first quiet period after it, once the daemon is serving.
  let baseline = 0;
  let idlePeriods = 0;
  const timer = setInterval(() => {
    if (utilization() > idle) {
      idlePeriods = 0;
      return;
    }
    idlePeriods++;
    const now = heapBytes();
    if (now < baseline) baseline = now;
    // Between bursts (a loop idle for one period) when much was left; once quiet, whatever was.
    if (now - baseline < (idlePeriods >= settlePeriods ? settledGrowth : growth)) return;
    gc();
    count++;
    baseline = heapBytes();
  }, opts.periodMs ?? 500);
  timer.unref();
  return { stop: () => clearInterval(timer), collections: () => count };
}
