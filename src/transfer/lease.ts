import { createHash } from 'node:crypto';
import type { Ctx } from '../core/context';
import { isNotFound } from '../core/errors';
import type { GcTrigger, LeaseManager } from './types';

/**
 * The lease an operation works under, so GC cannot take a half-pulled image: created with
 * containerd's `containerd.io/gc.expire` (like containerd's transfer service, 24 h by default)
 * and berth's `berth.io/transfer=<hash of the operation>`. A failed pull keeps its lease until
 * it expires: a retry of the same operation finds it and resumes with everything already
 * committed (and the partial ingests it holds), and `ctr leases rm --sync` gives the space back
 * at once. A successful operation deletes it, and so does one that ran out of space (pull.ts),
 * which also collects what the lease held before it answers, so the space is back at once.
 */
export const LABEL_TRANSFER = 'berth.io/transfer';
export const LABEL_GC_EXPIRE = 'containerd.io/gc.expire';
export const DEFAULT_LEASE_EXPIRY_MS = 24 * 3600_000;

export interface OperationLease {
  id: string;
  /** Whether an earlier, failed attempt's lease was found. */
  resumed: boolean;
  /** Deletes the lease; what only it held is collected soon, or before this returns with `now`. */
  release(opts?: { now?: boolean }): Promise<void>;
  /** After a failure: keeps the lease if it holds anything worth resuming, else releases it. */
  keepForResume(): Promise<void>;
}

/**
 * Leases of operations running in this process: a concurrent pull of the same image gets its own
 * lease, so that the first to finish does not release what the other still works under.
 */
const inUse = new Set<string>();

export async function operationLease(
  ctx: Ctx,
  stores: { leases: LeaseManager; gc?: GcTrigger },
  operation: string,
  expiryMs = DEFAULT_LEASE_EXPIRY_MS,
): Promise<OperationLease> {
  const { leases, gc } = stores;
  const key = createHash('sha256').update(operation).digest('hex').slice(0, 32);
  const now = Date.now();
  const existing = (await leases.list(ctx, [`labels."${LABEL_TRANSFER}"==${key}`])).find((l) => {
    const exp = Date.parse(l.labels[LABEL_GC_EXPIRE] ?? '');
    return !inUse.has(`${ctx.ns}\0${l.id}`) && (!Number.isFinite(exp) || exp > now + 60_000);
  });
  const lease = existing ?? (await leases.create(ctx, { labels: { [LABEL_GC_EXPIRE]: new Date(now + expiryMs).toISOString(), [LABEL_TRANSFER]: key } }));
  const slot = `${ctx.ns}\0${lease.id}`;
  inUse.add(slot);
  // Cleanup runs after the operation's signal may have fired: not under it.
  const bg: Ctx = { ns: ctx.ns, log: ctx.log };
  const release = async (opts: { now?: boolean } = {}) => {
    inUse.delete(slot);
    await leases.delete(bg, lease.id).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
    if (opts.now) await gc?.collect();
    else gc?.schedule();
  };
  return {
    id: lease.id,
    resumed: !!existing,
    release,
    keepForResume: async () => {
      inUse.delete(slot);
      const held = await leases.listResources(bg, lease.id).catch(() => [{ id: '', type: '' }]);
      if (held.length === 0) await release().catch(() => undefined);
    },
  };
}
