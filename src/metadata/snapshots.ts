import { z } from 'zod';
import { type Ctx, namespaceRequired } from '../core/context';
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from '../core/errors';
import { parseFilters } from '../core/filters';
import type { Labels, Mount } from '../core/types';
import { adaptInfo, toInfo } from '../snapshotter/info';
import { updateLabels, validateLabels } from '../core/labels';
import type { Info, Snapshotter, Usage } from '../snapshotter/types';
import type { MetadataDB, ReadTx, WriteTx } from './db';
import { ensureNamespace } from './namespace-record';
import { keys, LEASE_RESOURCE } from './schema';

/**
 * The namespaced view of one snapshotter (containerd's core/metadata/snapshot.go).
 * `keys.snapshot(ns, snapshotter, key)` maps a namespaced key to a backend key `<ns>/<seq>/<key>`,
 * so the same key in two namespaces is two snapshots, committed names are per namespace and
 * parents resolve within the namespace. Metadata is the source of truth for labels and times.
 * Backend calls run inside the metadata write transaction: a failing backend leaves no record.
 */
const RecordSchema = z.object({
  backendKey: z.string(),
  parent: z.string().optional(),
  kind: z.enum(['VIEW', 'ACTIVE', 'COMMITTED']),
  labels: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type NsSnapshotRecord = z.infer<typeof RecordSchema>;

export interface SnapshotRef {
  key: string;
  parent?: string;
  labels: Labels;
}

export class NamespacedSnapshotter {
  /** Backend key sequence: microsecond-scaled so it keeps increasing across restarts. */
  private seq = Date.now() * 1000;

  constructor(
    readonly name: string,
    private readonly db: MetadataDB,
    readonly backend: Snapshotter,
  ) {}

  async stat(ctx: Ctx, key: string): Promise<Info> {
    const ns = namespaceRequired(ctx);
    return this.db.view(async (tx) => toInfo(key, await this.mustGet(tx, ns, key)));
  }

  async update(ctx: Ctx, info: Pick<Info, 'name' | 'labels'>, fieldpaths: readonly string[] = []): Promise<Info> {
    const ns = namespaceRequired(ctx);
    if (!info.name) throw invalidArgument('snapshot name is required for update');
    return this.db.update(async (tx) => {
      const rec = await this.mustGet(tx, ns, info.name);
      const labels = updateLabels(`snapshot ${info.name}`, rec.labels, info.labels ?? {}, fieldpaths);
      validateLabels(`snapshot ${info.name}`, labels);
      const next: NsSnapshotRecord = { ...rec, labels, updatedAt: new Date().toISOString() };
      tx.put(keys.snapshot(ns, this.name, info.name), next);
      return toInfo(info.name, next);
    });
  }

  async usage(ctx: Ctx, key: string): Promise<Usage> {
    const ns = namespaceRequired(ctx);
    const rec = await this.db.view((tx) => this.mustGet(tx, ns, key));
    return this.backend.usage(rec.backendKey);
  }

  async mounts(ctx: Ctx, key: string): Promise<Mount[]> {
    const ns = namespaceRequired(ctx);
    const rec = await this.db.view((tx) => this.mustGet(tx, ns, key));
    if (rec.kind === 'COMMITTED') throw failedPrecondition(`snapshot ${key}: requested snapshot not active or view`);
    return this.backend.mounts(rec.backendKey);
  }

  prepare(ctx: Ctx, key: string, parent?: string, labels?: Labels): Promise<Mount[]> {
    return this.create(ctx, 'ACTIVE', key, parent, labels);
  }

  view(ctx: Ctx, key: string, parent?: string, labels?: Labels): Promise<Mount[]> {
    return this.create(ctx, 'VIEW', key, parent, labels);
  }

  private async create(ctx: Ctx, kind: 'ACTIVE' | 'VIEW', key: string, parent: string | undefined, labels: Labels = {}): Promise<Mount[]> {
    const ns = namespaceRequired(ctx);
    if (!key) throw invalidArgument('snapshot key must not be empty');
    validateLabels(`snapshot ${key}`, labels);
    parent = parent || undefined;
    let created: string | undefined;
    try {
      return await this.db.update(async (tx) => {
        if (await tx.has(keys.snapshot(ns, this.name, key))) throw alreadyExists(`snapshot ${key}: already exists`);
        let backendParent: string | undefined;
        if (parent !== undefined) {
          const p = await tx.get<NsSnapshotRecord>(keys.snapshot(ns, this.name, parent));
          if (!p) throw notFound(`parent snapshot ${parent}: not found`);
          if (p.kind !== 'COMMITTED') throw invalidArgument(`parent ${parent}: not a committed snapshot`);
          backendParent = p.backendKey;
        }
        await this.addLease(tx, ctx, key);
        await ensureNamespace(tx, ns);
        const backendKey = `${ns}/${++this.seq}/${key}`;
        const mounts = kind === 'ACTIVE' ? await this.backend.prepare(backendKey, backendParent) : await this.backend.view(backendKey, backendParent);
        created = backendKey;
        const now = new Date().toISOString();
        const rec: NsSnapshotRecord = { backendKey, kind, labels: { ...labels }, createdAt: now, updatedAt: now };
        if (parent !== undefined) rec.parent = parent;
        tx.put(keys.snapshot(ns, this.name, key), rec);
        return mounts;
      });
    } catch (e) {
      // The backend snapshot exists but its record did not land: undo it.
      if (created) await this.backend.remove(created).catch(() => undefined);
      throw e;
    }
  }

  async commit(ctx: Ctx, name: string, key: string, labels: Labels = {}): Promise<void> {
    const ns = namespaceRequired(ctx);
    if (!name) throw invalidArgument('snapshot name must not be empty');
    validateLabels(`snapshot ${name}`, labels);
    await this.db.update(async (tx) => {
      if (await tx.has(keys.snapshot(ns, this.name, name))) throw alreadyExists(`snapshot ${name}: already exists`);
      const rec = await this.mustGet(tx, ns, key);
      if (rec.kind !== 'ACTIVE') throw failedPrecondition(`snapshot ${key}: requested snapshot not active`);
      await this.addLease(tx, ctx, name);
      await ensureNamespace(tx, ns);
      const backendKey = `${ns}/${++this.seq}/${name}`;
      await this.backend.commit(backendKey, rec.backendKey);
      const now = new Date().toISOString();
      const next: NsSnapshotRecord = { backendKey, kind: 'COMMITTED', labels: { ...labels }, createdAt: now, updatedAt: now };
      if (rec.parent !== undefined) next.parent = rec.parent;
      tx.del(keys.snapshot(ns, this.name, key));
      await this.dropLeaseRefs(tx, ns, key);
      tx.put(keys.snapshot(ns, this.name, name), next);
    });
  }

  /** Removes the record (the commit point), then the backend snapshot; see `cleanup` for leftovers. */
  async remove(ctx: Ctx, key: string): Promise<void> {
    const ns = namespaceRequired(ctx);
    const backendKey = await this.db.update(async (tx) => {
      const rec = await this.mustGet(tx, ns, key);
      for await (const e of tx.list<NsSnapshotRecord>(keys.snapshots(ns, this.name))) {
        if (e.value.parent === key) throw failedPrecondition(`snapshot ${key}: cannot remove snapshot with child`);
      }
      await ensureNamespace(tx, ns);
      tx.del(keys.snapshot(ns, this.name, key));
      await this.dropLeaseRefs(tx, ns, key);
      return rec.backendKey;
    });
    await this.backend
      .remove(backendKey)
      .catch((e) => ctx.log.warn('backend snapshot removal failed; cleanup will retry', { key: backendKey, err: (e as Error).message }));
  }

  async *walk(ctx: Ctx, filters?: readonly string[]): AsyncIterable<Info> {
    const ns = namespaceRequired(ctx);
    const match = parseFilters(filters);
    const entries = await this.db.view(async (tx) => {
      const out: Array<{ key: string; value: NsSnapshotRecord }> = [];
      for await (const e of tx.list<unknown>(keys.snapshots(ns, this.name))) out.push({ key: e.key[e.key.length - 1]!, value: RecordSchema.parse(e.value) });
      return out;
    });
    for (const e of entries) {
      const info = toInfo(e.key, e.value);
      if (match(adaptInfo(info))) yield info;
    }
  }

  /**
   * Removes backend snapshots no namespace refers to (left by a crash between the metadata
   * delete and the backend removal), leaf first, then lets the backend sweep its directories.
   */
  async cleanup(_ctx?: Ctx): Promise<void> {
    const referenced = await this.db.view(async (tx) => {
      const out = new Set<string>();
      for await (const e of tx.list<NsSnapshotRecord>(['v1'])) {
        if (e.key.length === 5 && e.key[2] === 'snapshot' && e.key[3] === this.name) out.add(e.value.backendKey);
      }
      return out;
    });
    const orphans = new Map<string, string | undefined>();
    for await (const info of this.backend.walk()) if (!referenced.has(info.name)) orphans.set(info.name, info.parent);
    // Leaf first: remove an orphan only once no orphan names it as parent.
    for (let progress = true; progress && orphans.size > 0;) {
      progress = false;
      const parents = new Set([...orphans.values()].filter((p): p is string => p !== undefined));
      for (const k of [...orphans.keys()]) {
        if (parents.has(k)) continue;
        await this.backend.remove(k).catch(() => undefined);
        orphans.delete(k);
        progress = true;
      }
    }
    await this.backend.cleanup();
  }

  /** A Snapshotter bound to one context (tests run the conformance suite through this). */
  bind(ctx: Ctx): Snapshotter {
    return {
      stat: (k) => this.stat(ctx, k),
      update: (i, f) => this.update(ctx, i, f),
      usage: (k) => this.usage(ctx, k),
      mounts: (k) => this.mounts(ctx, k),
      prepare: (k, p, l) => this.prepare(ctx, k, p, l),
      view: (k, p, l) => this.view(ctx, k, p, l),
      commit: (n, k, l) => this.commit(ctx, n, k, l),
      remove: (k) => this.remove(ctx, k),
      walk: (f) => this.walk(ctx, f),
      cleanup: () => this.cleanup(ctx),
      close: async () => undefined,
    };
  }

  /** The GC hook (metadata/gc.ts GcSnapshots). */
  collector(log: Ctx['log']) {
    return {
      list: async function* (this: NamespacedSnapshotter, ns: string): AsyncIterable<SnapshotRef> {
        for await (const i of this.walk({ ns, log })) {
          const ref: SnapshotRef = { key: i.name, labels: i.labels };
          if (i.parent !== undefined) ref.parent = i.parent;
          yield ref;
        }
      }.bind(this),
      remove: (ns: string, key: string) => this.remove({ ns, log }, key),
    };
  }

  private async mustGet(tx: ReadTx, ns: string, key: string): Promise<NsSnapshotRecord> {
    const v = await tx.get<unknown>(keys.snapshot(ns, this.name, key));
    if (v === undefined) throw notFound(`snapshot ${key}: not found`);
    return RecordSchema.parse(v);
  }

  /**
   * Deletes every lease's reference to `key` (in the caller's batch): a key that no longer names a
   * snapshot (removed, or committed under a new name) must not leave a record that would pin a later
   * snapshot created with the same key. containerd only drops the caller's lease; GC removals run
   * with no lease, so all leases of the namespace are looked at.
   */
  private async dropLeaseRefs(tx: WriteTx, ns: string, key: string): Promise<void> {
    const type = LEASE_RESOURCE.snapshot(this.name);
    const stale: string[] = [];
    for await (const e of tx.list<unknown>(['v1', ns, 'leaseres'])) {
      // ['v1', ns, 'leaseres', <lease>, <type>, <resource>]
      if (e.key.length === 6 && e.key[4] === type && e.key[5] === key) stale.push(e.key[3]!);
    }
    for (const lease of stale) tx.del(keys.leaseResource(ns, lease, type, key));
  }

  /** Writes under a lease reference the snapshot from that lease (which must exist). */
  private async addLease(tx: WriteTx, ctx: Ctx, key: string): Promise<void> {
    if (!ctx.lease) return;
    if (!(await tx.has(keys.lease(ctx.ns, ctx.lease)))) throw notFound(`lease ${ctx.lease}: not found`);
    tx.put(keys.leaseResource(ctx.ns, ctx.lease, LEASE_RESOURCE.snapshot(this.name), key), '');
  }
}
