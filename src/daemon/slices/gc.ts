import { type GcSnapshots, type GcStats, collectGarbage, nextLeaseExpiry } from '../../metadata/gc';
import { GcScheduler } from '../../metadata/gc-scheduler';
import { Part, type Slice } from '../slice';
import { CONTENT_GC } from './content';
import { SNAPSHOTTERS } from './snapshotters';

/** Garbage collection: deletions `schedule()` one; a synchronous delete (`images rm --sync`) awaits `collect()`. */
export interface GcControl {
  collect(): Promise<GcStats>;
  schedule(): void;
  /** Collect at this time (a lease's `containerd.io/gc.expire`). */
  wakeAt(at: Date): void;
}
export const GC = new Part<GcControl>('gc');

/**
 * Metadata garbage collection over the content store and every snapshotter. Below the services
 * that delete (content, snapshots, images, leases): they require GC and schedule a collection.
 */
export const gcSlice: Slice = {
  name: 'gc',
  requires: [CONTENT_GC, SNAPSHOTTERS],
  provides: [GC],
  plugins: () => [
    { type: 'io.containerd.metadata.v1', id: 'level', requires: ['io.containerd.content.v1', 'io.containerd.snapshotter.v1'] },
    { type: 'io.containerd.gc.v1', id: 'scheduler', requires: ['io.containerd.metadata.v1'] },
  ],
  async wire(ctx) {
    const log = ctx.log.child({ component: 'metadata' }).child({ component: 'gc' });
    const content = ctx.need(CONTENT_GC);
    const snapshots = new Map<string, GcSnapshots>();
    const snapshotsLog = ctx.log.child({ component: 'snapshots' });
    for (const [name, s] of ctx.need(SNAPSHOTTERS)) snapshots.set(name, s.collector(snapshotsLog));
    const scheduler = new GcScheduler(() => collectGarbage({ db: ctx.db, log, content, snapshots, ingestExpiryMs: ctx.config.ingestExpiryHours * 3600_000 }), {
      delayMs: ctx.config.gc.scheduleDelayMs,
      log,
    });
    ctx.db.onMutation(() => scheduler.onMutation());
    ctx.onClose(() => scheduler.close());
    // No start-up collection (containerd has one): it would race tests that ingest unreferenced
    // content right after start. The first delete sweeps crash orphans instead.
    // Leases from before a restart still expire on time.
    const firstExpiry = await nextLeaseExpiry(ctx.db);
    if (firstExpiry) scheduler.wakeAt(firstExpiry);
    ctx.provide(GC, { collect: () => scheduler.collect(), schedule: () => scheduler.schedule(), wakeAt: (at) => scheduler.wakeAt(at) });
  },
};
