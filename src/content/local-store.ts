import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../core/digest';
import { parseDigest } from '../core/digest';
import { fromErrno, invalidArgument, notFound } from '../core/errors';
import { type Logger, nullLogger } from '../core/logger';
import { RefLocks } from './locks';
import { blobPath, blobsDir, ingestDir, ingestRoot, validateRef } from './paths';
import { LocalWriter, type LocalStatus } from './writer';
import { writeFileAtomic } from '../core/node/files';
import { SpaceGuard } from '../core/node/space';

export const READ_CHUNK = 1 << 20;

export interface LocalWriterOptions {
  ref: string;
  total?: number;
  expected?: Digest;
}

/**
 * The namespace-unaware content store on disk (containerd's plugins/content/local). Blobs by
 * digest under blobs/, resumable ingests by ref under ingest/. Namespaces, labels and leases
 * live in metadata/content.ts.
 */
export class LocalContentStore {
  private readonly locks = new RefLocks();
  /** Writers open in this process, by ref: their status is known without reading the ingest dir. */
  private readonly open = new Map<string, LocalWriter>();

  private constructor(
    readonly root: string,
    private readonly log: Logger,
    private readonly space: SpaceGuard | undefined,
  ) {}

  /**
   * Creates the layout and removes ingests untouched for `ingestExpiryMs` (if given). With
   * `minFreeBytes`, ingest writes that would leave less free on the filesystem fail with
   * ResourceExhausted (core/node/space.ts).
   */
  static async open(root: string, opts: { log?: Logger; ingestExpiryMs?: number; minFreeBytes?: number } = {}): Promise<LocalContentStore> {
    await mkdir(blobsDir(root), { recursive: true, mode: 0o700 });
    await mkdir(ingestRoot(root), { recursive: true, mode: 0o700 });
    const s = new LocalContentStore(root, opts.log ?? nullLogger, opts.minFreeBytes !== undefined ? new SpaceGuard(root, opts.minFreeBytes) : undefined);
    if (opts.ingestExpiryMs !== undefined) await s.removeStaleIngests(opts.ingestExpiryMs);
    return s;
  }

  async info(digest: Digest): Promise<{ digest: Digest; size: number; createdAt: Date }> {
    try {
      const st = await stat(blobPath(this.root, digest));
      return { digest, size: st.size, createdAt: st.mtime };
    } catch (e) {
      throw fromErrno(e, `content ${digest}`);
    }
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await stat(blobPath(this.root, digest));
      return true;
    } catch {
      return false;
    }
  }

  /** Chunks of at most 1 MiB from `offset`; size 0 or absent = to the end. */
  async *read(digest: Digest, opts: { offset?: number; size?: number } = {}): AsyncGenerator<Buffer> {
    const offset = opts.offset ?? 0;
    if (offset < 0 || (opts.size ?? 0) < 0) throw invalidArgument(`content ${digest}: negative offset or size`);
    let fh;
    try {
      fh = await open(blobPath(this.root, digest), 'r');
    } catch (e) {
      throw fromErrno(e, `content ${digest}`);
    }
    try {
      const size = (await fh.stat()).size;
      const end = opts.size ? Math.min(size, offset + opts.size) : size;
      let pos = offset;
      while (pos < end) {
        const n = Math.min(READ_CHUNK, end - pos);
        const buf = Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        yield bytesRead === n ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  /** Removes a blob from disk (GC only). Missing is fine. */
  async deleteBlob(digest: Digest): Promise<void> {
    await rm(blobPath(this.root, digest), { force: true });
  }

  async *listBlobs(): AsyncGenerator<Digest> {
    for (const alg of await readdir(join(this.root, 'blobs')).catch(() => [] as string[])) {
      for (const hex of await readdir(join(this.root, 'blobs', alg)).catch(() => [] as string[])) {
        const d = `${alg}:${hex}`;
        try {
          parseDigest(d);
          yield d;
        } catch {
          /* not a blob */
        }
      }
    }
  }

  /**
   * Opens or resumes the ingest `ref`. A resumed writer continues at the current size of `data`;
   * its running digest is recomputed by re-reading it. Unavailable if another writer holds the ref.
   */
  async writer(opts: LocalWriterOptions): Promise<LocalWriter> {
    const ref = validateRef(opts.ref, Infinity);
    this.locks.acquire(ref);
    try {
      const dir = ingestDir(this.root, ref);
      const hash = createHash('sha256');
      let startedAt: Date;
      let total = opts.total ?? 0;
      let offset = 0;
      const existing = await readFile(join(dir, 'ref'), 'utf8').catch(() => undefined);
      if (existing === ref) {
        startedAt = new Date((await readFile(join(dir, 'startedat'), 'utf8').catch(() => '')) || Date.now());
        if (!opts.total) total = Number(await readFile(join(dir, 'total'), 'utf8').catch(() => '0')) || 0;
        offset = await hashFile(join(dir, 'data'), hash);
      } else {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true, mode: 0o700 });
        startedAt = new Date();
        await writeFileAtomic(join(dir, 'startedat'), startedAt.toISOString());
        await writeFileAtomic(join(dir, 'ref'), ref);
      }
      await writeFileAtomic(join(dir, 'updatedat'), new Date().toISOString());
      if (opts.total) await writeFileAtomic(join(dir, 'total'), String(opts.total));
      if (opts.expected) await writeFileAtomic(join(dir, 'expected'), opts.expected);
      const expected = opts.expected || (await readFile(join(dir, 'expected'), 'utf8').catch(() => '')) || undefined;
      const fh = await open(join(dir, 'data'), 'a', 0o600);
      const st = await fh.stat({ bigint: true });
      if (BigInt(offset) !== st.size) {
        await fh.close();
        throw invalidArgument(`ingest ref ${ref}: data changed while resuming`);
      }
      const fileId = `${st.dev}:${st.ino}`;
      const release = () => {
        if (this.open.get(ref) === w) this.open.delete(ref);
        this.locks.release(ref);
      };
      const w: LocalWriter = new LocalWriter({
        root: this.root,
        ref,
        dir,
        fh,
        offset,
        hash,
        total,
        expected,
        startedAt,
        fileId,
        log: this.log,
        release,
        space: this.space,
      });
      this.open.set(ref, w);
      return w;
    } catch (e) {
      this.locks.release(ref);
      throw fromErrno(e, `ingest ref ${ref}`);
    }
  }

  async status(ref: string): Promise<LocalStatus> {
    // An open writer knows its status: ctr's pull progress asks ListStatuses every 100 ms, and five
    // file reads per ingest then queued behind the ingests' own writes on the libuv pool (~30 ms).
    const w = this.open.get(ref);
    if (w) return w.status();
    const dir = ingestDir(this.root, ref);
    const stored = await readFile(join(dir, 'ref'), 'utf8').catch(() => undefined);
    if (stored !== ref) throw notFound(`ingest ref ${ref}: not found`);
    try {
      const st = await stat(join(dir, 'data'));
      const startedat = await readFile(join(dir, 'startedat'), 'utf8').catch(() => '');
      const total = Number(await readFile(join(dir, 'total'), 'utf8').catch(() => '0')) || 0;
      const expected = (await readFile(join(dir, 'expected'), 'utf8').catch(() => '')) || undefined;
      return { ref, offset: st.size, total, expected, startedAt: startedat ? new Date(startedat) : st.ctime, updatedAt: st.mtime };
    } catch (e) {
      throw fromErrno(e, `ingest ref ${ref}`);
    }
  }

  /** Every ingest on disk (all namespaces: refs are backend refs). */
  async listStatuses(): Promise<LocalStatus[]> {
    const names = await readdir(ingestRoot(this.root)).catch(() => [] as string[]);
    const all = await Promise.all(
      names.map(async (name) => {
        const ref = await readFile(join(ingestRoot(this.root), name, 'ref'), 'utf8').catch(() => undefined);
        return ref === undefined ? undefined : this.status(ref).catch(() => undefined); // removed meanwhile
      }),
    );
    return all.filter((s): s is LocalStatus => s !== undefined);
  }

  /** Removes the ingest; NotFound if there is none. */
  async abort(ref: string): Promise<void> {
    const dir = ingestDir(this.root, ref);
    const stored = await readFile(join(dir, 'ref'), 'utf8').catch(() => undefined);
    if (stored !== ref) throw notFound(`ingest ref ${ref}: not found`);
    await rm(dir, { recursive: true, force: true });
  }

  isLocked(ref: string): boolean {
    return this.locks.isLocked(ref);
  }

  /** Every ingest on disk by ref, and whether a writer holds it now. */
  async *listIngests(): AsyncGenerator<{ ref: string; open: boolean }> {
    for (const name of await readdir(ingestRoot(this.root)).catch(() => [] as string[])) {
      const ref = await readFile(join(ingestRoot(this.root), name, 'ref'), 'utf8').catch(() => undefined);
      if (ref !== undefined) yield { ref, open: this.locks.isLocked(ref) };
    }
  }

  /** Start-up sweep: ingests whose data (or dir) has not changed for `maxAgeMs` are removed. */
  async removeStaleIngests(maxAgeMs: number): Promise<number> {
    let removed = 0;
    const now = Date.now();
    for (const name of await readdir(ingestRoot(this.root)).catch(() => [] as string[])) {
      const dir = join(ingestRoot(this.root), name);
      const st = (await stat(join(dir, 'data')).catch(() => undefined)) ?? (await stat(dir).catch(() => undefined));
      if (!st || now - st.mtimeMs < maxAgeMs) continue;
      const ref = await readFile(join(dir, 'ref'), 'utf8').catch(() => undefined);
      if (ref !== undefined && this.locks.isLocked(ref)) continue;
      await rm(dir, { recursive: true, force: true });
      this.log.info('removed stale ingest', { ref: ref ?? name });
      removed++;
    }
    return removed;
  }
}

/** Re-reads `data` into the hash on resume; returns the number of bytes. Missing = 0. */
async function hashFile(path: string, hash: ReturnType<typeof createHash>): Promise<number> {
  let n = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) {
      hash.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return n;
}
