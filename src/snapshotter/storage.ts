import { Level } from 'level';
import { z } from 'zod';

/**
 * A snapshotter's own metastore (containerd's core/snapshots/storage/bolt.go, on LevelDB).
 * One backend owns its directory, so the whole table is kept in memory and every mutation is
 * written through as one atomic batch. `lock()` serialises mutations (validate → fs work → batch).
 *
 *   seq            → last numeric id handed out (ids name the snapshot dirs: snapshots/<id>)
 *   s \0 <key>     → SnapshotRecord
 */
const SnapshotRecordSchema = z.object({
  id: z.string(),
  kind: z.enum(['VIEW', 'ACTIVE', 'COMMITTED']),
  parent: z.string().optional(),
  labels: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Usage frozen at commit time (committed snapshots never change). */
  size: z.number().optional(),
  inodes: z.number().optional(),
});
export type SnapshotRecord = z.infer<typeof SnapshotRecordSchema>;

const SEQ_KEY = 'seq';
const REC_PREFIX = 's\x00';

export interface Batch {
  put?: Array<[string, SnapshotRecord]>;
  del?: string[];
}

export class MetaStore {
  private readonly records = new Map<string, SnapshotRecord>();
  private readonly children = new Map<string, Set<string>>();
  private seq = 0;
  private pendingSeq = 0;
  private lockChain: Promise<void> = Promise.resolve();

  private constructor(private readonly db: Level<string, string>) {}

  static async open(path: string): Promise<MetaStore> {
    // LevelDB's defaults (an 8 MiB block cache, 4 MiB memtables) are sized for large stores;
    // these hold small records, read mostly through in-memory state, and under container churn
    // the defaults were resident memory for nothing. (The same in metadata/db.ts.)
    const db = new Level<string, string>(path, { valueEncoding: 'utf8', cacheSize: 1 << 20, writeBufferSize: 1 << 20 });
    await db.open();
    const m = new MetaStore(db);
    const seq = await db.get(SEQ_KEY);
    m.seq = m.pendingSeq = seq === undefined ? 0 : Number(seq);
    for await (const [k, v] of db.iterator({ gt: REC_PREFIX, lt: REC_PREFIX + '\xff' })) {
      m.setRecord(k.slice(REC_PREFIX.length), SnapshotRecordSchema.parse(JSON.parse(v)));
    }
    return m;
  }

  async close(): Promise<void> {
    await this.lockChain.catch(() => undefined);
    await this.db.close();
  }

  /** Runs `fn` with the write lock held (one mutation at a time). */
  async lock<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.lockChain;
    let release!: () => void;
    this.lockChain = new Promise((r) => (release = r));
    await prev.catch(() => undefined);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  get(key: string): SnapshotRecord | undefined {
    return this.records.get(key);
  }

  entries(): Array<[string, SnapshotRecord]> {
    return [...this.records.entries()];
  }

  hasChildren(key: string): boolean {
    return (this.children.get(key)?.size ?? 0) > 0;
  }

  /** Ids of every ancestor of `parent` (inclusive), nearest first: the overlay lowerdir order. */
  chainIds(parent: string | undefined): string[] {
    const out: string[] = [];
    for (let p = parent; p !== undefined;) {
      const r = this.records.get(p);
      if (!r) break;
      out.push(r.id);
      p = r.parent;
    }
    return out;
  }

  ids(): Set<string> {
    return new Set([...this.records.values()].map((r) => r.id));
  }

  /** Reserves the next numeric id; persisted by the next `apply`. */
  nextId(): string {
    this.pendingSeq += 1;
    return String(this.pendingSeq);
  }

  /** Writes one atomic batch, then updates the in-memory table. */
  async apply(b: Batch): Promise<void> {
    const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [];
    for (const k of b.del ?? []) ops.push({ type: 'del', key: REC_PREFIX + k });
    for (const [k, r] of b.put ?? []) ops.push({ type: 'put', key: REC_PREFIX + k, value: JSON.stringify(r) });
    if (this.pendingSeq !== this.seq) ops.push({ type: 'put', key: SEQ_KEY, value: String(this.pendingSeq) });
    await this.db.batch(ops);
    this.seq = this.pendingSeq;
    for (const k of b.del ?? []) this.deleteRecord(k);
    for (const [k, r] of b.put ?? []) this.setRecord(k, r);
  }

  private setRecord(key: string, r: SnapshotRecord) {
    this.deleteRecord(key);
    this.records.set(key, r);
    if (r.parent !== undefined) {
      let s = this.children.get(r.parent);
      if (!s) this.children.set(r.parent, (s = new Set()));
      s.add(key);
    }
  }

  private deleteRecord(key: string) {
    const old = this.records.get(key);
    if (!old) return;
    this.records.delete(key);
    if (old.parent !== undefined) this.children.get(old.parent)?.delete(key);
  }
}
