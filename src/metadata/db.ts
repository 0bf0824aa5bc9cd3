import { Level } from 'level';
import { Mirror } from './mirror';
import type { Key } from './schema';
import { SCHEMA_VERSION, SEP, decodeKey, encodeKey, keys } from './schema';
import { runMigrations } from './migrations';
import { internal, resourceExhausted, unavailable } from '../core/errors';

/**
 * LevelDB has no read-write transactions (bolt had), so the DB has one async write lock:
 * a mutation is `update(tx => read → validate → put/del)` and lands as one atomic batch.
 * Reads inside a tx see the tx's own pending writes for point lookups (`get`); `list`
 * sees committed state only. Reads come from an in-memory mirror of the committed state
 * (mirror.ts); LevelDB is written, and read once at open.
 */
export interface ReadTx {
  /** `parse` turns the stored JSON text into the value (JSON.parse unless given). */
  get<T>(key: Key, parse?: (json: string) => T): Promise<T | undefined>;
  /** Entries strictly under `prefix`, in key order; `key` is the full decoded key. */
  list<T>(prefix: Key, parse?: (json: string) => T): AsyncIterable<{ key: string[]; value: T }>;
  has(key: Key): Promise<boolean>;
}

export interface WriteTx extends ReadTx {
  put(key: Key, value: unknown): void;
  /** A value the caller serialized itself (JSON text, stored as it is). */
  putJson(key: Key, json: string): void;
  del(key: Key): void;
  /** Deletes every key strictly under `prefix` (committed ones; pending puts under it too). */
  delPrefix(prefix: Key): Promise<void>;
  /** Runs after the batch is committed (e.g. delete files, publish events, schedule GC). */
  afterCommit(fn: () => void | Promise<void>): void;
}

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

export class MetadataDB {
  private lock: Promise<void> = Promise.resolve();
  private mutationListeners: Array<() => void> = [];
  private readonly mirror = new Mirror();

  private constructor(private readonly db: Level<string, string>) {}

  static async open(path: string): Promise<MetadataDB> {
    // LevelDB's defaults (an 8 MiB block cache, 4 MiB memtables) are sized for large stores;
    // these hold small records, read mostly through in-memory state, and under container churn
    // the defaults were resident memory for nothing. (The same in snapshotter/storage.ts.)
    const db = new Level<string, string>(path, { valueEncoding: 'utf8', cacheSize: 1 << 20, writeBufferSize: 1 << 20 });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') throw unavailable(`metadata db ${path}: locked by another berthd using the same --root`, { cause: e });
      throw internal(`metadata db ${path}: ${(e as Error).message}`, { cause: e });
    }
    const m = new MetadataDB(db);
    try {
      m.mirror.load(await db.iterator().all());
    } catch (e) {
      await db.close().catch(() => undefined);
      throw internal(`metadata db ${path}: ${(e as Error).message}`, { cause: e });
    }
    await m.update(async (tx) => {
      const v = (await tx.get<number>(keys.version())) ?? 0;
      if (v > SCHEMA_VERSION) throw new Error(`metadata schema version ${v} is newer than this berthd (${SCHEMA_VERSION})`);
      await runMigrations(tx, v);
      if (v !== SCHEMA_VERSION) tx.put(keys.version(), SCHEMA_VERSION);
    });
    return m;
  }

  async close(): Promise<void> {
    await this.lock.catch(() => undefined);
    await this.db.close();
  }

  /** Called after every committed mutation (the GC scheduler counts them). */
  onMutation(fn: () => void): void {
    this.mutationListeners.push(fn);
  }

  view<T>(fn: (tx: ReadTx) => Promise<T>): Promise<T> {
    return fn(this.reader(new Map()));
  }

  async update<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise((r) => (release = r));
    await prev.catch(() => undefined);
    const pending = new Map<string, Op>();
    const after: Array<() => void | Promise<void>> = [];
    let result: T;
    try {
      const r = this.reader(pending);
      const tx: WriteTx = {
        ...r,
        put: (key, value) => tx.putJson(key, JSON.stringify(value)),
        putJson: (key, json) => {
          const k = encodeKey(key);
          pending.set(k, { type: 'put', key: k, value: json });
        },
        del: (key) => {
          const k = encodeKey(key);
          pending.set(k, { type: 'del', key: k });
        },
        delPrefix: async (prefix) => {
          const p = encodeKey(prefix) + SEP;
          for (const [k] of this.mirror.range(p)) pending.set(k, { type: 'del', key: k });
          for (const k of pending.keys()) if (k.startsWith(p)) pending.set(k, { type: 'del', key: k });
        },
        afterCommit: (f) => after.push(f),
      };
      result = await fn(tx);
      if (pending.size > 0) {
        const ops = [...pending.values()];
        try {
          await this.db.batch(ops);
        } catch (e) {
          // LevelDB says "IO error: <file>: No space left on device": the host's limit, not a bug.
          if (/No space left on device|Disk quota exceeded/.test((e as Error).message))
            throw resourceExhausted(`metadata: ${(e as Error).message}`, { cause: e });
          throw e;
        }
        this.mirror.apply(ops);
      }
    } finally {
      release();
    }
    if (pending.size > 0) for (const l of this.mutationListeners) l();
    for (const f of after) await f();
    return result;
  }

  private reader(pending: Map<string, Op>): ReadTx {
    const mirror = this.mirror;
    const lookup = (key: Key): string | undefined => {
      const k = encodeKey(key);
      const p = pending.get(k);
      if (p) return p.type === 'put' ? p.value : undefined;
      return mirror.get(k);
    };
    return {
      get: async <T>(key: Key, parse: (json: string) => T = JSON.parse): Promise<T | undefined> => {
        const v = lookup(key);
        return v === undefined ? undefined : parse(v);
      },
      has: async (key) => lookup(key) !== undefined,
      list: async function* <T>(prefix: Key, parse: (json: string) => T = JSON.parse) {
        // The snapshot is taken at the first next(), as a LevelDB iterator's was.
        for (const [k, v] of mirror.range(encodeKey(prefix) + SEP)) yield { key: decodeKey(k), value: parse(v) };
      },
    };
  }
}
