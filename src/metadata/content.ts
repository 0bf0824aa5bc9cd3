import type { CommittedBlob, ContentObserver, ContentStore, Info, ReadOptions, Status, StreamTarget, Writer, WriterOptions } from '../content/types';
import type { LocalContentStore } from '../content/local-store';
import type { LocalStatus, LocalWriter } from '../content/writer';
import { validateRef } from '../content/paths';
import { type Ctx, namespaceRequired } from '../core/context';
import { type Digest, validateDigest } from '../core/digest';
import { alreadyExists, failedPrecondition, invalidArgument, isAlreadyExists, isNotFound, notFound } from '../core/errors';
import { adapt, parseFilters } from '../core/filters';
import type { Labels } from '../core/types';
import { updateLabels } from '../core/labels';
import { BlobCache } from './blob-cache';
import type { MetadataDB, ReadTx, WriteTx } from './db';
import { ensureNamespace } from './namespace-record';
import { LEASE_RESOURCE, keys } from './schema';

/** Value of `keys.blob(ns, digest)`. Dates as ISO strings. */
export interface BlobRecord {
  size: number;
  labels: Labels;
  createdAt: string;
  updatedAt: string;
}

/** Value of `keys.ingest(ns, ref)`. */
export interface IngestRecord {
  expected?: Digest;
  lease?: string;
}

/** Backend (on-disk) ingest refs are namespaced: `<ns>/<ref>` (the ns is a validated identifier). */
export const backendRef = (ns: string, ref: string) => `${ns}/${ref}`;

function notify(observers: Iterable<ContentObserver>, fn: (o: ContentObserver) => void): void {
  for (const o of observers) {
    try {
      fn(o);
    } catch {
      // an observer's bug must not fail the store operation that already happened
    }
  }
}

function toInfo(digest: Digest, r: BlobRecord): Info {
  return { digest, size: r.size, labels: { ...r.labels }, createdAt: new Date(r.createdAt), updatedAt: new Date(r.updatedAt) };
}

/**
 * containerd's metadata content store: the namespaced view over the shared local store.
 * A blob is visible in a namespace only if its `blob` record exists there; labels and times live
 * in the record. Deleting removes the record only: the disk blob is GC's to remove.
 */
export class NamespacedContentStore implements ContentStore {
  /** Digests between the backend rename and their record commit: GC must not delete them. */
  private readonly committing = new Map<Digest, number>();
  private readonly observers = new Set<ContentObserver>();
  private readonly small = new BlobCache();

  constructor(
    readonly db: MetadataDB,
    readonly backend: LocalContentStore,
  ) {}

  /** Adds an observer of ingests and commits; returns the function that removes it. */
  observe(o: ContentObserver): () => void {
    this.observers.add(o);
    return () => this.observers.delete(o);
  }

  /** True while a commit of `digest` is between the on-disk rename and its metadata record. */
  isCommitting(digest: Digest): boolean {
    return this.committing.has(digest);
  }

  async info(ctx: Ctx, digest: Digest): Promise<Info> {
    const ns = namespaceRequired(ctx);
    validateDigest(digest);
    const r = await this.db.view((tx) => tx.get<BlobRecord>(keys.blob(ns, digest)));
    if (!r) throw notFound(`content ${digest}: not found`);
    return toInfo(digest, r);
  }

  async *read(ctx: Ctx, digest: Digest, opts: ReadOptions = {}): AsyncIterable<Buffer> {
    const info = await this.info(ctx, digest);
    const offset = opts.offset ?? 0;
    const size = opts.size ?? 0;
    if (info.size > this.small.maxBlob || offset < 0 || size < 0) return yield* this.backend.read(digest, opts);
    let data = this.small.get(digest);
    if (!data) {
      const chunks: Buffer[] = [];
      for await (const c of this.backend.read(digest)) chunks.push(c);
      data = Buffer.concat(chunks);
      if (data.length === info.size) this.small.set(digest, data);
    }
    // The backend's range rules: from `offset`, `size` bytes (0 = to the end), nothing past the end.
    const end = size ? Math.min(data.length, offset + size) : data.length;
    if (offset < end) yield Buffer.from(data.subarray(offset, end)); // a copy: callers own what they get
  }

  async update(ctx: Ctx, info: Pick<Info, 'digest' | 'labels'>, fieldpaths?: string[]): Promise<Info> {
    const ns = namespaceRequired(ctx);
    validateDigest(info.digest);
    const next = info.labels ?? {};
    return this.db.update(async (tx) => {
      const r = await tx.get<BlobRecord>(keys.blob(ns, info.digest));
      if (!r) throw notFound(`content ${info.digest}: not found`);
      const labels = updateLabels(`content ${info.digest}`, r.labels, next, fieldpaths);
      await ensureNamespace(tx, ns);
      const rec: BlobRecord = { ...r, labels, updatedAt: new Date().toISOString() };
      tx.put(keys.blob(ns, info.digest), rec);
      return toInfo(info.digest, rec);
    });
  }

  async *walk(ctx: Ctx, filters?: readonly string[]): AsyncIterable<Info> {
    const ns = namespaceRequired(ctx);
    const match = parseFilters(filters);
    const out: Info[] = [];
    await this.db.view(async (tx) => {
      for await (const { key, value } of tx.list<BlobRecord>(keys.blobs(ns))) {
        const digest = key[key.length - 1]!;
        if (match(adapt({ digest, size: String(value.size) }, value.labels))) out.push(toInfo(digest, value));
      }
    });
    yield* out;
  }

  async delete(ctx: Ctx, digest: Digest): Promise<void> {
    const ns = namespaceRequired(ctx);
    validateDigest(digest);
    await this.db.update(async (tx) => {
      if (!(await tx.has(keys.blob(ns, digest)))) throw notFound(`content ${digest}: not found`);
      tx.del(keys.blob(ns, digest));
    });
  }

  async writer(ctx: Ctx, opts: WriterOptions): Promise<Writer> {
    const ns = namespaceRequired(ctx);
    const ref = validateRef(opts.ref);
    if (opts.expected) validateDigest(opts.expected);
    const total = opts.total && opts.total > 0 ? opts.total : 0;
    await this.db.view(async (tx) => {
      await checkLease(tx, ns, ctx.lease);
      if (opts.expected && (await tx.has(keys.blob(ns, opts.expected)))) throw alreadyExists(`content ${opts.expected}: already exists`);
    });
    let shared: { digest: Digest; size: number } | undefined;
    if (opts.expected) {
      const inf = await this.backend.info(opts.expected).catch(() => undefined);
      if (inf && (!total || total === inf.size)) shared = { digest: inf.digest, size: inf.size };
    }
    const bref = backendRef(ns, ref);
    const local = shared ? undefined : await this.backend.writer({ ref: bref, total, expected: opts.expected });
    try {
      await this.db.update(async (tx) => {
        await ensureNamespace(tx, ns);
        tx.put(keys.ingest(ns, ref), { expected: opts.expected || undefined, lease: ctx.lease } satisfies IngestRecord);
        if (ctx.lease) tx.put(keys.leaseResource(ns, ctx.lease, LEASE_RESOURCE.ingest, ref), '');
      });
    } catch (e) {
      await local?.close();
      throw e;
    }
    if (local)
      notify(this.observers, (o) =>
        o.ingestOpened?.({ ns, ref, backendRef: bref, expected: opts.expected || undefined, total, session: local.session, fileId: local.fileId }),
      );
    return new NamespacedWriter(this, ctx, ns, ref, local, shared, opts.expected);
  }

  /** Called by NamespacedWriter.commit once the backend holds the blob. */
  async recordCommit(ctx: Ctx, ns: string, ref: string, digest: Digest, size: number, labels?: Labels, from?: CommittedBlob['from']): Promise<void> {
    await this.db.update(async (tx) => {
      await ensureNamespace(tx, ns);
      tx.del(keys.ingest(ns, ref));
      if (ctx.lease) tx.del(keys.leaseResource(ns, ctx.lease, LEASE_RESOURCE.ingest, ref));
      if (await tx.has(keys.blob(ns, digest))) throw alreadyExists(`content ${digest}: already exists`);
      const now = new Date().toISOString();
      tx.put(keys.blob(ns, digest), { size, labels: { ...(labels ?? {}) }, createdAt: now, updatedAt: now } satisfies BlobRecord);
      if (ctx.lease) tx.put(keys.leaseResource(ns, ctx.lease, LEASE_RESOURCE.content, digest), '');
    });
    notify(this.observers, (o) => o.committed?.({ ns, ref, digest, size, ...(from ? { from } : {}) }));
  }

  /** Drops the ingest record (the stream ended through an error before commit). */
  async forgetIngest(ctx: Ctx, ns: string, ref: string): Promise<void> {
    await this.db.update(async (tx) => {
      tx.del(keys.ingest(ns, ref));
      if (ctx.lease) tx.del(keys.leaseResource(ns, ctx.lease, LEASE_RESOURCE.ingest, ref));
    });
  }

  markCommitting(digest: Digest, on: boolean): void {
    const n = (this.committing.get(digest) ?? 0) + (on ? 1 : -1);
    if (n > 0) this.committing.set(digest, n);
    else this.committing.delete(digest);
  }

  /**
   * GC: removes the blob's file unless a commit of it is between its rename and its record;
   * observers hear of it (staged extractions of it are dropped).
   */
  async collectBlob(digest: Digest): Promise<void> {
    if (this.isCommitting(digest)) return;
    await this.backend.deleteBlob(digest);
    notify(this.observers, (o) => o.blobRemoved?.(digest));
  }

  /** GC: removes a backend ingest (unless a writer holds it and not `evenIfOpen`); observers hear of it. */
  async collectIngest(backendRef: string, evenIfOpen = false): Promise<void> {
    if (!evenIfOpen && this.backend.isLocked(backendRef)) return;
    await this.backend.abort(backendRef).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
    notify(this.observers, (o) => o.ingestRemoved?.(backendRef));
  }

  async status(ctx: Ctx, ref: string): Promise<Status> {
    const ns = namespaceRequired(ctx);
    validateRef(ref);
    const rec = await this.db.view((tx) => tx.get<IngestRecord>(keys.ingest(ns, ref)));
    if (!rec) throw notFound(`ingest ref ${ref}: not found`);
    try {
      return toStatus(ref, await this.backend.status(backendRef(ns, ref)), rec.expected);
    } catch (e) {
      if (isNotFound(e)) throw notFound(`ingest ref ${ref}: not found`);
      throw e;
    }
  }

  async listStatuses(ctx: Ctx, filters?: readonly string[]): Promise<Status[]> {
    const ns = namespaceRequired(ctx);
    const match = parseFilters(filters);
    const recs = await this.db.view(async (tx) => {
      const out: Array<{ ref: string; rec: IngestRecord }> = [];
      for await (const { key, value } of tx.list<IngestRecord>(keys.ingests(ns))) out.push({ ref: key[key.length - 1]!, rec: value });
      return out;
    });
    const sts = await Promise.all(recs.map(({ ref }) => this.backend.status(backendRef(ns, ref)).catch(() => undefined)));
    const out: Status[] = [];
    recs.forEach(({ ref, rec }, i) => {
      const st = sts[i];
      if (!st) return;
      const s = toStatus(ref, st, rec.expected);
      if (match(adapt({ ref, expected: s.expected }))) out.push(s);
    });
    return out;
  }

  async abort(ctx: Ctx, ref: string): Promise<void> {
    const ns = namespaceRequired(ctx);
    validateRef(ref);
    const rec = await this.db.view((tx) => tx.get<IngestRecord>(keys.ingest(ns, ref)));
    if (!rec) throw notFound(`ingest ref ${ref}: not found`);
    await this.backend.abort(backendRef(ns, ref)).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
    notify(this.observers, (o) => o.ingestRemoved?.(backendRef(ns, ref)));
    await this.db.update(async (tx) => {
      tx.del(keys.ingest(ns, ref));
      if (rec.lease) tx.del(keys.leaseResource(ns, rec.lease, LEASE_RESOURCE.ingest, ref));
    });
  }
}

async function checkLease(tx: ReadTx | WriteTx, ns: string, lease: string | undefined): Promise<void> {
  if (lease && !(await tx.has(keys.lease(ns, lease)))) throw notFound(`lease ${lease}: not found`);
}

function toStatus(ref: string, st: LocalStatus, expected?: Digest): Status {
  return { ref, offset: st.offset, total: st.total, expected: expected ?? st.expected, startedAt: st.startedAt, updatedAt: st.updatedAt };
}

/**
 * A writer in one namespace. When `expected` already exists on disk (committed in another
 * namespace), the writer is "shared": it reports the blob as fully written and commit only adds
 * this namespace's record. Writing data into a shared writer starts a real ingest instead.
 */
class NamespacedWriter implements Writer {
  private startedAt = new Date();
  private unsharing: Promise<LocalWriter> | undefined;

  constructor(
    private readonly store: NamespacedContentStore,
    private readonly ctx: Ctx,
    private readonly ns: string,
    readonly ref: string,
    private local: LocalWriter | undefined,
    private shared: { digest: Digest; size: number } | undefined,
    private readonly expected: Digest | undefined,
  ) {}

  async status(): Promise<Status> {
    if (!this.local && this.unsharing) await this.unsharing;
    if (this.local) return toStatus(this.ref, this.local.status(), this.expected);
    const s = this.shared!;
    return { ref: this.ref, offset: s.size, total: s.size, expected: s.digest, startedAt: this.startedAt, updatedAt: this.startedAt };
  }

  digest(): Digest {
    return this.local ? this.local.digest() : this.shared!.digest;
  }

  /** Opens the real ingest once (concurrent first writes share the one open). */
  private unshare(): Promise<LocalWriter> {
    this.unsharing ??= (async () => {
      const local = await this.store.backend.writer({ ref: backendRef(this.ns, this.ref), total: this.shared?.size, expected: this.expected });
      await local.truncate(0);
      this.local = local;
      this.shared = undefined;
      return local;
    })();
    return this.unsharing;
  }

  streamTarget(): StreamTarget | undefined {
    return this.local;
  }

  /** With a local writer the chunk is queued synchronously, so pipelined writes keep their order. */
  write(data: Buffer): Promise<Digest | void> {
    if (data.length === 0) return Promise.resolve();
    if (this.local) return this.local.write(data);
    return this.unshare().then((l) => l.write(data));
  }

  async truncate(size: number): Promise<void> {
    if (size !== 0) throw invalidArgument(`ingest ref ${this.ref}: truncate to size other than 0 not supported`);
    if (this.local) await this.local.truncate(0);
  }

  async commit(size: number, expected?: Digest, labels?: Labels): Promise<Digest> {
    if (expected) validateDigest(expected);
    let digest: Digest;
    let actualSize: number;
    let from: CommittedBlob['from'];
    if (!this.local) {
      const s = this.shared!;
      if (size > 0 && size !== s.size) throw failedPrecondition(`ingest ref ${this.ref}: commit size ${size} does not match ${s.size}: failed precondition`);
      if (expected && expected !== s.digest)
        throw failedPrecondition(`ingest ref ${this.ref}: unexpected commit digest ${s.digest}, expected ${expected}: failed precondition`);
      digest = s.digest;
      actualSize = s.size;
      this.store.markCommitting(digest, true);
    } else {
      const w = this.local;
      actualSize = w.status().offset;
      digest = w.digest();
      this.store.markCommitting(digest, true);
      try {
        await w.commit(size, expected);
      } catch (e) {
        if (!isAlreadyExists(e)) {
          this.store.markCommitting(digest, false);
          throw e;
        }
      }
      // Read after commit: a truncate cannot slip in between (commit waits for queued work).
      from = { session: w.session, rewritten: w.rewritten };
    }
    try {
      await this.store.recordCommit(this.ctx, this.ns, this.ref, digest, actualSize, labels, from);
    } finally {
      this.store.markCommitting(digest, false);
    }
    return digest;
  }

  async close(): Promise<void> {
    if (this.local) await this.local.close();
    else await this.store.forgetIngest(this.ctx, this.ns, this.ref).catch(() => undefined);
  }
}
