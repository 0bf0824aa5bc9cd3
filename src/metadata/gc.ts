import { z } from 'zod';
import type { Logger } from '../core/logger';
import type { Labels } from '../core/types';
import type { MetadataDB, WriteTx } from './db';
import { backendRef } from './content';
import { parseTime } from './label-validation';
import { LABEL_GC_EXPIRE, LABEL_GC_FLAT } from './leases';
import { LEASE_RESOURCE, keys } from './schema';

/**
 * containerd's metadata garbage collector (core/metadata/gc.go), tri-colour mark & sweep per
 * namespace. Roots: image targets, unexpired leases and everything they hold, containers
 * (snapshot + image target), and blobs/snapshots labelled `containerd.io/gc.root`. Edges:
 * `containerd.io/gc.ref.content[.|/…]` = digest and `containerd.io/gc.ref.snapshot.<sn>[.|/…]` = key
 * labels on images, containers, blobs and snapshots, plus a snapshot's parent. Leases labelled
 * `containerd.io/gc.flat` hold their resources without following their references.
 *
 * Ingests are containerd's `content.ingest` resources: one opened under a lease (or added to one
 * as an `ingests` resource) lives as long as that lease and goes with it, partial data and all,
 * at the next collection (`ctr leases rm --sync`: at once); one without a lease expires after
 * `ingestExpiryMs` without writes. Ingest dirs on disk that no namespace has a record for (a crash
 * between the two) are aborted too.
 *
 * Sweep, in three steps:
 *  1. under the write lock, one batch: unreferenced blob records, expired leases (with their
 *     resource records), ingest records whose lease is gone, and unleased ones whose backend
 *     ingest is gone or expired;
 *  2. unreferenced snapshots through each SnapshotCollector, children before parents;
 *  3. under the write lock again (so no commit can slip between the scan and the delete), every
 *     on-disk blob that no namespace has a record for and no open ingest expects. The content
 *     backend itself skips a blob between its rename and its record (ContentStore.isCommitting).
 */

export const LABEL_GC_ROOT = 'containerd.io/gc.root';
const REF_CONTENT = 'containerd.io/gc.ref.content';
const REF_SNAPSHOT = 'containerd.io/gc.ref.snapshot.';

/** The content hooks GC needs (the daemon's content slice provides them). */
export interface GcContent {
  deleteBlob(digest: string): Promise<void>;
  listBlobs(): AsyncIterable<string>;
  /** Removes a backend ingest; `evenIfOpen`: also one a writer holds (its lease is gone). */
  abortIngest(backendRef: string, evenIfOpen?: boolean): Promise<void>;
  /** Last update of a namespaced ingest; undefined when the backend ingest is gone. */
  ingestUpdatedAt?(ns: string, ref: string): Promise<Date | undefined>;
  /** Backend refs of every ingest on disk, with whether a writer holds it. */
  listIngests?(): AsyncIterable<{ ref: string; open: boolean }>;
}

/** What GC needs from one snapshotter (NamespacedSnapshotter.collector). */
export interface GcSnapshots {
  list(ns: string): AsyncIterable<{ key: string; parent?: string; labels: Record<string, string> }>;
  remove(ns: string, key: string): Promise<void>;
}

export interface GcDeps {
  db: MetadataDB;
  log: Logger;
  content?: GcContent;
  snapshots: ReadonlyMap<string, GcSnapshots>;
  /** Unleased ingests untouched for this long are removed. */
  ingestExpiryMs: number;
  now?: () => Date;
}

export interface GcStats {
  namespaces: number;
  blobRecordsRemoved: number;
  leasesRemoved: number;
  ingestsRemoved: number;
  snapshotsRemoved: number;
  blobFilesRemoved: number;
  durationMs: number;
  /** When the next live lease expires (the scheduler collects then), if any does. */
  nextLeaseExpiry?: Date;
}

const LabelsSchema = z.record(z.string(), z.string()).catch({});
const ImageSchema = z.object({ target: z.object({ digest: z.string() }).partial().catch({}), labels: LabelsSchema.default({}) }).passthrough();
const ContainerSchema = z
  .object({ image: z.string().catch(''), snapshotter: z.string().catch(''), snapshotKey: z.string().catch(''), labels: LabelsSchema.default({}) })
  .partial()
  .passthrough();
const LabelledSchema = z.object({ labels: LabelsSchema.default({}) }).passthrough();
const IngestSchema = z.object({ lease: z.string().optional().catch(undefined) }).passthrough();

interface NsState {
  images: Map<string, { digest?: string; labels: Labels }>;
  containers: Array<{ image?: string; snapshotter?: string; snapshotKey?: string; labels: Labels }>;
  blobs: Map<string, Labels>;
  ingests: Map<string, { lease?: string }>;
  leases: Map<string, Labels>;
  leaseRes: Map<string, Array<{ type: string; id: string }>>;
}

const newNs = (): NsState => ({ images: new Map(), containers: [], blobs: new Map(), ingests: new Map(), leases: new Map(), leaseRes: new Map() });

type Node = string; // `c\0<digest>` or `s\0<snapshotter>\0<key>`
const contentNode = (d: string): Node => `c\0${d}`;
const snapshotNode = (sn: string, key: string): Node => `s\0${sn}\0${key}`;

/** Emits the nodes a label set references. */
export function labelRefs(labels: Labels, emit: (n: Node) => void): void {
  for (const [k, v] of Object.entries(labels)) {
    if (!v) continue;
    if (k.startsWith(REF_CONTENT)) {
      const c = k.charAt(REF_CONTENT.length);
      if (c === '' || c === '.' || c === '/') emit(contentNode(v));
    } else if (k.startsWith(REF_SNAPSHOT)) {
      const sn = k.slice(REF_SNAPSHOT.length).split(/[./]/)[0];
      if (sn) emit(snapshotNode(sn, v));
    }
  }
}

async function scan(db: MetadataDB): Promise<Map<string, NsState>> {
  const all = new Map<string, NsState>();
  await db.view(async (tx) => {
    for await (const { key, value } of tx.list<unknown>(['v1'])) {
      const [, ns, kind, a, b, c] = key as [string, string, string, string?, string?, string?];
      let st = all.get(ns);
      if (!st) all.set(ns, (st = newNs()));
      if (kind === 'image' && a !== undefined) {
        const r = ImageSchema.safeParse(value);
        st.images.set(a, r.success ? { digest: r.data.target.digest, labels: r.data.labels } : { labels: {} });
      } else if (kind === 'container') {
        const r = ContainerSchema.safeParse(value);
        if (r.success) st.containers.push({ ...r.data, labels: r.data.labels ?? {} });
      } else if (kind === 'blob' && a !== undefined) {
        const r = LabelledSchema.safeParse(value);
        st.blobs.set(a, r.success ? r.data.labels : {});
      } else if (kind === 'ingest' && a !== undefined) {
        const r = IngestSchema.safeParse(value);
        st.ingests.set(a, r.success ? { lease: r.data.lease } : {});
      } else if (kind === 'lease' && a !== undefined) {
        const r = LabelledSchema.safeParse(value);
        st.leases.set(a, r.success ? r.data.labels : {});
      } else if (kind === 'leaseres' && a !== undefined && b !== undefined && c !== undefined) {
        const list = st.leaseRes.get(a) ?? [];
        list.push({ type: b, id: c });
        st.leaseRes.set(a, list);
      }
    }
  });
  return all;
}

interface SnapInfo {
  parent?: string;
  labels: Labels;
}

/** Marks one namespace. Returns the set of reachable nodes (flat-leased ones included). */
function mark(st: NsState, snaps: Map<string, Map<string, SnapInfo>>, liveLeases: Set<string>): Set<Node> {
  const black = new Set<Node>();
  const grey: Node[] = [];
  const visit = (n: Node) => {
    if (!black.has(n)) {
      black.add(n);
      grey.push(n);
    }
  };
  const flat = new Set<Node>();

  for (const img of st.images.values()) {
    if (img.digest) visit(contentNode(img.digest));
    labelRefs(img.labels, visit);
  }
  for (const c of st.containers) {
    if (c.snapshotter && c.snapshotKey) visit(snapshotNode(c.snapshotter, c.snapshotKey));
    const img = c.image ? st.images.get(c.image) : undefined;
    if (img?.digest) visit(contentNode(img.digest));
    labelRefs(c.labels, visit);
  }
  for (const id of liveLeases) {
    const isFlat = !!st.leases.get(id)?.[LABEL_GC_FLAT];
    for (const r of st.leaseRes.get(id) ?? []) {
      let n: Node | undefined;
      if (r.type === LEASE_RESOURCE.content) n = contentNode(r.id);
      else if (r.type.startsWith('snapshots/')) n = snapshotNode(r.type.slice('snapshots/'.length), r.id);
      if (!n) continue; // ingests are handled in the sweep
      if (isFlat) flat.add(n);
      else visit(n);
    }
  }
  for (const [d, labels] of st.blobs) if (labels[LABEL_GC_ROOT] !== undefined) visit(contentNode(d));
  for (const [sn, m] of snaps) for (const [key, s] of m) if (s.labels[LABEL_GC_ROOT] !== undefined) visit(snapshotNode(sn, key));

  while (grey.length) {
    const n = grey.pop()!;
    const parts = n.split('\0');
    if (parts[0] === 'c') {
      const labels = st.blobs.get(parts[1]!);
      if (labels) labelRefs(labels, visit);
    } else {
      const s = snaps.get(parts[1]!)?.get(parts[2]!);
      if (!s) continue;
      if (s.parent) visit(snapshotNode(parts[1]!, s.parent));
      labelRefs(s.labels, visit);
    }
  }
  for (const n of flat) black.add(n);
  return black;
}

function isExpired(leaseLabels: Labels, now: Date): boolean {
  const exp = parseTime(leaseLabels[LABEL_GC_EXPIRE]);
  return !!exp && exp.getTime() <= now.getTime();
}

/** The earliest `containerd.io/gc.expire` of any lease in any namespace after `now`. */
export async function nextLeaseExpiry(db: MetadataDB, now = new Date()): Promise<Date | undefined> {
  let next: Date | undefined;
  await db.view(async (tx) => {
    for await (const { key, value } of tx.list<unknown>(['v1'])) {
      if (key[2] !== 'lease' || key.length !== 4) continue;
      const r = LabelledSchema.safeParse(value);
      const exp = r.success ? parseTime(r.data.labels[LABEL_GC_EXPIRE]) : undefined;
      if (exp && exp.getTime() > now.getTime() && (!next || exp < next)) next = exp;
    }
  });
  return next;
}

async function listSnapshots(deps: GcDeps, ns: string): Promise<Map<string, Map<string, SnapInfo>>> {
  const snaps = new Map<string, Map<string, SnapInfo>>();
  for (const [sn, col] of deps.snapshots) {
    const m = new Map<string, SnapInfo>();
    for await (const s of col.list(ns)) m.set(s.key, { parent: s.parent || undefined, labels: s.labels ?? {} });
    if (m.size) snaps.set(sn, m);
  }
  return snaps;
}

/** Leaf-first order: a snapshot comes before its parent. */
function childrenFirst(doomed: string[], infos: Map<string, SnapInfo>): string[] {
  const depth = (k: string) => {
    let d = 0;
    const seen = new Set<string>();
    for (let p = infos.get(k)?.parent; p && !seen.has(p); p = infos.get(p)?.parent) {
      seen.add(p);
      d++;
    }
    return d;
  };
  return doomed
    .map((k) => [k, depth(k)] as const)
    .sort((x, y) => y[1] - x[1])
    .map(([k]) => k);
}

/**
 * Ingests on disk without a record in any namespace (a crash between the backend open and the
 * record, or a record removed while its writer held the ingest) and no writer: aborted. The
 * records are read under the write lock, so an ingest being opened (its writer holds the lock
 * until its record is written) is never taken.
 */
async function abortOrphanIngests(deps: GcDeps, content: Required<GcContent>): Promise<number> {
  let removed = 0;
  await deps.db.update(async (tx) => {
    const known = new Set<string>();
    for await (const { key } of tx.list<unknown>(['v1'])) if (key[2] === 'ingest' && key.length === 4) known.add(backendRef(key[1]!, key[3]!));
    for await (const { ref, open } of content.listIngests()) {
      if (open || known.has(ref)) continue;
      await content.abortIngest(ref).catch((e) => deps.log.warn('gc: abort ingest failed', { ref, err: e as Error }));
      removed++;
    }
  });
  return removed;
}

/** Runs one full collection. Never deletes anything reachable from a root. */
export async function collectGarbage(deps: GcDeps): Promise<GcStats> {
  const t0 = Date.now();
  const now = (deps.now ?? (() => new Date()))();
  const stats: GcStats = { namespaces: 0, blobRecordsRemoved: 0, leasesRemoved: 0, ingestsRemoved: 0, snapshotsRemoved: 0, blobFilesRemoved: 0, durationMs: 0 };
  const snapshotRemovals: Array<{ sn: string; ns: string; keys: string[] }> = [];
  const ingestAborts: Array<{ ref: string; evenIfOpen: boolean }> = [];

  await deps.db.update(async (tx: WriteTx) => {
    const all = await scan(deps.db);
    stats.namespaces = all.size;
    for (const [ns, st] of all) {
      const snaps = await listSnapshots(deps, ns);
      const live = new Set<string>();
      for (const [id, labels] of st.leases) {
        if (isExpired(labels, now)) {
          tx.del(keys.lease(ns, id));
          await tx.delPrefix(keys.leaseResources(ns, id));
          stats.leasesRemoved++;
        } else live.add(id);
      }
      const black = mark(st, snaps, live);

      for (const d of st.blobs.keys()) {
        if (black.has(contentNode(d))) continue;
        tx.del(keys.blob(ns, d));
        stats.blobRecordsRemoved++;
      }

      const leasedIngests = new Set<string>();
      for (const id of live) for (const r of st.leaseRes.get(id) ?? []) if (r.type === LEASE_RESOURCE.ingest) leasedIngests.add(r.id);
      for (const [ref, rec] of st.ingests) {
        if (leasedIngests.has(ref) || (rec.lease && live.has(rec.lease))) continue;
        if (rec.lease) {
          // Its lease is gone: the ingest goes with it now, open or not (containerd's local store
          // removes an open ingest too; its writer then fails at commit).
          tx.del(keys.ingest(ns, ref));
          tx.del(keys.leaseResource(ns, rec.lease, LEASE_RESOURCE.ingest, ref));
          ingestAborts.push({ ref: backendRef(ns, ref), evenIfOpen: true });
          stats.ingestsRemoved++;
          continue;
        }
        let updatedAt: Date | undefined;
        try {
          updatedAt = deps.content?.ingestUpdatedAt ? await deps.content.ingestUpdatedAt(ns, ref) : now;
        } catch (e) {
          deps.log.warn('gc: ingest status failed; keeping it', { ns, ref, err: e as Error });
          continue;
        }
        if (updatedAt && now.getTime() - updatedAt.getTime() < deps.ingestExpiryMs) continue;
        tx.del(keys.ingest(ns, ref));
        if (updatedAt) ingestAborts.push({ ref: backendRef(ns, ref), evenIfOpen: false });
        stats.ingestsRemoved++;
      }

      for (const [sn, m] of snaps) {
        const doomed = [...m.keys()].filter((k) => !black.has(snapshotNode(sn, k)));
        if (doomed.length) snapshotRemovals.push({ sn, ns, keys: childrenFirst(doomed, m) });
      }
    }
  });

  for (const { ref, evenIfOpen } of ingestAborts) {
    await deps.content?.abortIngest(ref, evenIfOpen).catch((e) => deps.log.warn('gc: abort ingest failed', { ref, err: e as Error }));
  }
  if (deps.content?.listIngests) stats.ingestsRemoved += await abortOrphanIngests(deps, deps.content as Required<GcContent>);

  // Snapshot removal takes the snapshotter's own transactions, so it runs after the lock is
  // released. Mark again first: anything that became reachable meanwhile (a Prepare on top of a
  // doomed parent, a new label) is spared, which shrinks the race to the removal calls.
  const remarked = new Map<string, Set<Node>>();
  if (snapshotRemovals.length) {
    const all = await scan(deps.db);
    for (const ns of new Set(snapshotRemovals.map((r) => r.ns))) {
      const st = all.get(ns) ?? newNs();
      const live = new Set([...st.leases].filter(([, labels]) => !isExpired(labels, now)).map(([id]) => id));
      remarked.set(ns, mark(st, await listSnapshots(deps, ns), live));
    }
  }
  for (const { sn, ns, keys: ks } of snapshotRemovals) {
    const col = deps.snapshots.get(sn);
    for (const k of ks) {
      if (remarked.get(ns)?.has(snapshotNode(sn, k))) continue;
      try {
        await col?.remove(ns, k);
        stats.snapshotsRemoved++;
      } catch (e) {
        deps.log.warn('gc: snapshot remove failed', { snapshotter: sn, ns, key: k, err: e as Error });
      }
    }
  }

  if (deps.content) {
    const content = deps.content;
    // Held under the write lock: a blob record committed after this scan cannot exist.
    await deps.db.update(async (tx) => {
      const referenced = new Set<string>();
      for await (const { key, value } of tx.list<unknown>(['v1'])) {
        if (key[2] === 'blob' && key.length === 4) referenced.add(key[3]!);
        // An open ingest expecting a digest already on disk commits by reference to that file
        // (the content store's shared writer): keep it until the ingest ends.
        if (key[2] === 'ingest' && key.length === 4) {
          const exp = (value as { expected?: unknown } | null)?.expected;
          if (typeof exp === 'string' && exp) referenced.add(exp);
        }
      }
      const orphans: string[] = [];
      for await (const d of content.listBlobs()) if (!referenced.has(d)) orphans.push(d);
      for (const d of orphans) {
        try {
          await content.deleteBlob(d);
          stats.blobFilesRemoved++;
        } catch (e) {
          deps.log.warn('gc: blob delete failed', { digest: d, err: e as Error });
        }
      }
    });
  }

  const next = await nextLeaseExpiry(deps.db, now);
  if (next) stats.nextLeaseExpiry = next;
  stats.durationMs = Date.now() - t0;
  return stats;
}
