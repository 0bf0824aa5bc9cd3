/**
 * The committed metadata, held in memory beside LevelDB: every read is a Map lookup or a slice
 * of a sorted key array instead of a LevelDB get/iterator through libuv's threadpool. One
 * `ctr run --rm` makes ~100 such reads (Content/Info, lease and namespace checks, GC); through
 * classic-level they cost ~7 ms of berthd's CPU per run and a threadpool round trip each.
 *
 * MetadataDB fills it once at open and applies each batch after LevelDB has committed it, under
 * the write lock, so it always equals the committed state. The metadata is small (records of a
 * few hundred bytes; thousands of them at most), so holding it twice is cheap. Values stay JSON
 * text: every reader parses its own copy, as it did from LevelDB.
 *
 * Order: JS string order (UTF-16 code units). LevelDB orders UTF-8 bytes; the two agree except
 * between U+E000..U+FFFF and astral characters, which no id, digest or ref here uses in practice.
 */
export type MirrorOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

export class Mirror {
  private readonly values = new Map<string, string>();
  /** Every key, sorted. */
  private sorted: string[] = [];

  /** Loads the committed entries (in LevelDB's order, which is ascending). */
  load(entries: Iterable<[string, string]>): void {
    for (const [k, v] of entries) this.values.set(k, v);
    this.sorted = [...this.values.keys()].sort();
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  apply(ops: Iterable<MirrorOp>): void {
    for (const op of ops) {
      const had = this.values.has(op.key);
      if (op.type === 'put') {
        this.values.set(op.key, op.value);
        if (!had) this.sorted.splice(this.lowerBound(op.key), 0, op.key);
      } else if (had) {
        this.values.delete(op.key);
        this.sorted.splice(this.lowerBound(op.key), 1);
      }
    }
  }

  /** A snapshot of the entries whose key starts with `prefix`, in key order. */
  range(prefix: string): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = this.lowerBound(prefix); i < this.sorted.length; i++) {
      const k = this.sorted[i]!;
      if (!k.startsWith(prefix)) break;
      out.push([k, this.values.get(k)!]);
    }
    return out;
  }

  get size(): number {
    return this.values.size;
  }

  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
