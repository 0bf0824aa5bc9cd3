import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { type Ctx, namespaceRequired } from '../core/context';
import { validateDigest } from '../core/digest';
import { alreadyExists, invalidArgument, notFound } from '../core/errors';
import { adapt, parseFilters } from '../core/filters';
import { isValidId, validateLeaseId } from '../core/identifiers';
import type { Labels } from '../core/types';
import type { MetadataDB } from './db';
import { validateLabels } from '../core/labels';
import { ensureNamespace } from './namespace-record';
import { LEASE_RESOURCE, keys } from './schema';

/** containerd's leases.Lease. */
export interface Lease {
  id: string;
  createdAt: Date;
  labels: Labels;
}

/** A resource held by a lease: type `content`, `ingests` or `snapshots/<snapshotter>`. */
export interface LeaseResource {
  id: string;
  type: string;
}

export interface LeaseStore {
  /** An empty id is generated (containerd's `<nanoseconds>-<4 base64url chars>`). */
  create(ctx: Ctx, lease: { id?: string; labels?: Labels }): Promise<Lease>;
  /** Removes the lease and its resource records (the resources become collectable). */
  delete(ctx: Ctx, id: string): Promise<void>;
  list(ctx: Ctx, filters?: readonly string[]): Promise<Lease[]>;
  addResource(ctx: Ctx, id: string, r: LeaseResource): Promise<void>;
  deleteResource(ctx: Ctx, id: string, r: LeaseResource): Promise<void>;
  listResources(ctx: Ctx, id: string): Promise<LeaseResource[]>;
}

/** Value of `keys.lease(ns, id)`. */
export const LeaseRecordSchema = z.object({
  labels: z.record(z.string(), z.string()).default({}),
  createdAt: z.string(),
});
export type LeaseRecord = z.infer<typeof LeaseRecordSchema>;

/** The label that makes a lease expire (RFC3339), and the one that stops GC following references. */
export const LABEL_GC_EXPIRE = 'containerd.io/gc.expire';
export const LABEL_GC_FLAT = 'containerd.io/gc.flat';

/**
 * containerd's leases.WithRandomID: nanoseconds-within-the-second, dash, 3 random bytes base64url.
 * Ids we generate are redrawn until they also pass the stricter identifier rule, so they work
 * with any client.
 */
export function generateLeaseId(now = process.hrtime.bigint()): string {
  const nanos = Number(now % 1_000_000_000n);
  for (;;) {
    const id = `${nanos}-${randomBytes(3).toString('base64url')}`;
    if (isValidId(id)) return id;
  }
}

/** containerd's parseLeaseResource: validates the type and the id for that type. */
export function validateLeaseResource(r: LeaseResource): LeaseResource {
  if (!r.id) throw invalidArgument('lease resource id must not be empty');
  if (r.id.includes('\x00')) throw invalidArgument('lease resource id must not contain NUL');
  if (r.type === LEASE_RESOURCE.content) validateDigest(r.id);
  else if (r.type === LEASE_RESOURCE.ingest) {
    /* refs are free-form (the content store validates them) */
  } else if (r.type.startsWith('snapshots/')) {
    const sn = r.type.slice('snapshots/'.length);
    if (!sn || sn.includes('/')) throw invalidArgument(`lease resource type ${JSON.stringify(r.type)}: invalid snapshotter name`);
  } else throw invalidArgument(`lease resource type ${JSON.stringify(r.type)}: unsupported resource type`);
  return r;
}

const fromRecord = (id: string, raw: unknown): Lease => {
  const r = LeaseRecordSchema.parse(raw);
  return { id, createdAt: new Date(r.createdAt), labels: { ...r.labels } };
};

export class LevelLeaseStore implements LeaseStore {
  constructor(private readonly db: MetadataDB) {}

  async create(ctx: Ctx, lease: { id?: string; labels?: Labels }): Promise<Lease> {
    const ns = namespaceRequired(ctx);
    const id = lease.id || generateLeaseId();
    validateLeaseId(id);
    const labels = { ...(lease.labels ?? {}) };
    validateLabels(`lease ${id}`, labels);
    return this.db.update(async (tx) => {
      await ensureNamespace(tx, ns);
      if (await tx.has(keys.lease(ns, id))) throw alreadyExists(`lease ${id}: already exists`);
      const createdAt = new Date();
      tx.put(keys.lease(ns, id), { labels, createdAt: createdAt.toISOString() } satisfies LeaseRecord);
      return { id, createdAt, labels };
    });
  }

  async delete(ctx: Ctx, id: string): Promise<void> {
    const ns = namespaceRequired(ctx);
    validateLeaseId(id);
    await this.db.update(async (tx) => {
      if (!(await tx.has(keys.lease(ns, id)))) throw notFound(`lease ${id}: not found`);
      tx.del(keys.lease(ns, id));
      await tx.delPrefix(keys.leaseResources(ns, id));
    });
  }

  async list(ctx: Ctx, filters?: readonly string[]): Promise<Lease[]> {
    const ns = namespaceRequired(ctx);
    const match = parseFilters(filters);
    const out: Lease[] = [];
    await this.db.view(async (tx) => {
      for await (const { key, value } of tx.list(keys.leases(ns))) {
        const l = fromRecord(key[key.length - 1]!, value);
        if (match(adapt({ id: l.id }, l.labels))) out.push(l);
      }
    });
    return out;
  }

  async addResource(ctx: Ctx, id: string, r: LeaseResource): Promise<void> {
    const ns = namespaceRequired(ctx);
    validateLeaseId(id);
    validateLeaseResource(r);
    await this.db.update(async (tx) => {
      if (!(await tx.has(keys.lease(ns, id)))) throw notFound(`lease ${id}: not found`);
      tx.put(keys.leaseResource(ns, id, r.type, r.id), '');
    });
  }

  async deleteResource(ctx: Ctx, id: string, r: LeaseResource): Promise<void> {
    const ns = namespaceRequired(ctx);
    validateLeaseId(id);
    validateLeaseResource(r);
    await this.db.update(async (tx) => {
      if (!(await tx.has(keys.lease(ns, id)))) throw notFound(`lease ${id}: not found`);
      tx.del(keys.leaseResource(ns, id, r.type, r.id));
    });
  }

  async listResources(ctx: Ctx, id: string): Promise<LeaseResource[]> {
    const ns = namespaceRequired(ctx);
    validateLeaseId(id);
    return this.db.view(async (tx) => {
      if (!(await tx.has(keys.lease(ns, id)))) throw notFound(`lease ${id}: not found`);
      const out: LeaseResource[] = [];
      const depth = keys.leaseResources(ns, id).length;
      for await (const { key } of tx.list(keys.leaseResources(ns, id))) {
        // type may itself contain a `/` but never NUL: key = [...prefix, type, id]
        if (key.length !== depth + 2) continue;
        out.push({ type: key[depth]!, id: key[depth + 1]! });
      }
      return out;
    });
  }
}
