import type { Digest } from '../core/digest';

/**
 * Whole small blobs (manifests, indexes, image configs) by digest, least recently used out first.
 * `ctr run` reads the same handful of JSON blobs on every run: from disk each Content/Read was an
 * open, fstat, read and close through libuv's threadpool (0.5-5 ms per Read on a busy machine).
 * A digest names its bytes, so an entry never goes stale; the namespaced store still checks the
 * namespace's record before every read, so a deleted blob stays invisible.
 */
export class BlobCache {
  private readonly entries = new Map<Digest, Buffer>();
  private bytes = 0;

  constructor(
    readonly maxBlob = 256 * 1024,
    readonly maxBytes = 8 * 1024 * 1024,
  ) {}

  get(digest: Digest): Buffer | undefined {
    const b = this.entries.get(digest);
    if (b) {
      this.entries.delete(digest);
      this.entries.set(digest, b); // most recently used last
    }
    return b;
  }

  set(digest: Digest, data: Buffer): void {
    if (data.length > this.maxBlob || this.entries.has(digest)) return;
    this.entries.set(digest, data);
    this.bytes += data.length;
    for (const [d, b] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(d);
      this.bytes -= b.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
