import type { Ctx } from '../core/context';
import type { LeaseStore } from '../metadata/leases';
import { LABEL_GC_EXPIRE } from '../metadata/leases';

/**
 * Runs `fn` under a fresh lease, so what it writes (blobs, snapshots) survives a garbage
 * collection until the references that keep it (labels, an image record) exist. The lease
 * expires by itself after an hour should berthd die before deleting it.
 */
export async function withLease<T>(leases: LeaseStore, ctx: Ctx, what: string, fn: (ctx: Ctx) => Promise<T>): Promise<T> {
  const lease = await leases.create(ctx, { labels: { [LABEL_GC_EXPIRE]: new Date(Date.now() + 3600_000).toISOString(), 'berth.engine/purpose': what } });
  try {
    return await fn({ ...ctx, lease: lease.id });
  } finally {
    await leases.delete(ctx, lease.id).catch(() => undefined);
  }
}
