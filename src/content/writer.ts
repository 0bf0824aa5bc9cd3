import { createHash, type Hash } from 'node:crypto';
import { type FileHandle, chmod, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../core/digest';
import { alreadyExists, failedPrecondition, fromErrno, invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import { blobPath, blobsDir } from './paths';
import { fsyncDir } from '../core/node/files';

/** What a local writer reports: the ingest's state (namespace-unaware ref). */
export interface LocalStatus {
  ref: string;
  offset: number;
  total: number;
  expected?: Digest;
  startedAt: Date;
  updatedAt: Date;
}

export interface LocalWriterInit {
  root: string;
  ref: string;
  dir: string;
  fh: FileHandle;
  offset: number;
  hash: Hash;
  total: number;
  expected?: Digest;
  startedAt: Date;
  /** `dev:ino` of the data file (the fstat of `fh`), stable through the rename into blobs/. */
  fileId: string;
  log: Logger;
  release: () => void;
}

let sessions = 0;

/** Most bytes and buffers one coalesced writev may carry (IOV_MAX is 1024 on Linux). */
export const MAX_WRITE_BATCH_BYTES = 32 << 20;
export const MAX_WRITE_BATCH_BUFFERS = 1024;
/** Appended pieces are written once this many bytes are queued (or at `flushed()`). */
export const APPEND_BATCH_BYTES = 256 << 10;

interface PendingWrite {
  /** Writer offset once this chunk is in the file. */
  end: number;
  digest: Digest;
  resolve: (d: Digest) => void;
  reject: (e: unknown) => void;
}

/**
 * One open ingest of the local store. Appends to `data` (O_APPEND) and hashes incrementally.
 *
 * Writes are pipelined: `write` hashes the chunk at once (so `digest()` and `status().offset`
 * cover it as soon as it returns) and queues it; one writev at a time drains the queue, so chunks
 * that arrive while a write is in flight are coalesced into the next writev. A write's promise
 * resolves (with the digest as of that chunk) only once its bytes are in the file, so an
 * acknowledged offset survives a crash of the daemon; the file is always a prefix of the stream
 * (resume continues at its size). Commit, truncate and close wait for the queue first.
 * Commit and close always release the lock.
 */
export class LocalWriter {
  readonly ref: string;
  /** Unique per writer in this process: tells observers which open ingest committed. */
  readonly session = ++sessions;
  /**
   * Set once `truncate` ran: the file's earlier bytes were replaced, so a reader that followed
   * the file (layer staging) may have read bytes that are not part of what is committed.
   */
  private truncated = false;
  private offset: number;
  private hash: Hash;
  private updatedAt = new Date();
  private done = false;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private readonly pending: PendingWrite[] = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;

  constructor(private readonly s: LocalWriterInit) {
    this.ref = s.ref;
    this.offset = s.offset;
    this.hash = s.hash;
  }

  /** `dev:ino` of the ingest's data file (the committed blob keeps it: commit renames). */
  get fileId(): string {
    return this.s.fileId;
  }

  /** Whether the file was truncated (restarted) since this writer opened it. */
  get rewritten(): boolean {
    return this.truncated;
  }

  get total(): number {
    return this.s.total;
  }

  setTotal(total: number): void {
    if (total > 0) this.s.total = total;
  }

  status(): LocalStatus {
    return { ref: this.ref, offset: this.offset, total: this.s.total, expected: this.s.expected, startedAt: this.s.startedAt, updatedAt: this.updatedAt };
  }

  digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }

  /**
   * Appends `data` at the current offset. Resolves with the digest of everything up to and
   * including this chunk once it is written; the caller must not modify `data` until then.
   */
  write(data: Buffer): Promise<Digest> {
    try {
      this.check();
      if (this.failure) throw this.failure;
    } catch (e) {
      return Promise.reject(e);
    }
    if (data.length === 0) return Promise.resolve(this.digest());
    this.queue.push(data);
    this.queuedBytes += data.length;
    // Start the write before hashing so the two overlap (the write runs on the libuv pool).
    if (!this.flushing) this.flushing = this.flush();
    this.hash.update(data);
    this.offset += data.length;
    this.updatedAt = new Date();
    const digest = this.digest();
    return new Promise<Digest>((resolve, reject) => this.pending.push({ end: this.offset, digest, resolve, reject }));
  }

  /** Bytes accepted so far (hashed; queued or in the file). */
  get accepted(): number {
    return this.offset;
  }

  /**
   * Streaming form of `write` for pieces of one chunk as they arrive: queues and hashes `piece`
   * without a promise; `flushed()` then gives the promise for everything appended. Throws if the
   * writer is closed or a write failed.
   */
  append(piece: Buffer): void {
    this.check();
    if (this.failure) throw this.failure;
    if (piece.length === 0) return;
    this.queue.push(piece);
    this.queuedBytes += piece.length;
    // Pieces are small (HTTP/2 frames): write them in batches, not one syscall each.
    if (!this.flushing && this.queuedBytes >= APPEND_BATCH_BYTES) this.flushing = this.flush();
    this.hash.update(piece);
    this.offset += piece.length;
  }

  /** Resolves with the digest once everything appended or written so far is in the file. */
  flushed(): Promise<Digest> {
    if (this.failure) return Promise.reject(this.failure);
    this.updatedAt = new Date();
    const digest = this.digest();
    if (!this.flushing && this.queue.length === 0) return Promise.resolve(digest);
    const p = new Promise<Digest>((resolve, reject) => this.pending.push({ end: this.offset, digest, resolve, reject }));
    if (!this.flushing) this.flushing = this.flush();
    return p;
  }

  /** Waits until every queued chunk is in the file; rejects if a write failed. */
  async drain(): Promise<void> {
    if (!this.flushing && this.queue.length && !this.failure) this.flushing = this.flush();
    while (this.flushing) await this.flushing;
    if (this.failure) throw this.failure;
  }

  private async flush(): Promise<void> {
    try {
      // Bytes in the file = offset minus what is still queued (hashing may run ahead of the queue).
      while (this.queue.length) {
        let n = 0;
        let bytes = 0;
        while (n < this.queue.length && n < MAX_WRITE_BATCH_BUFFERS && (n === 0 || bytes + this.queue[n]!.length <= MAX_WRITE_BATCH_BYTES)) bytes += this.queue[n++]!.length;
        const batch = this.queue.splice(0, n);
        this.queuedBytes -= bytes;
        try {
          await writevAll(this.s.fh, batch);
        } catch (e) {
          throw fromErrno(e, `ingest ref ${this.ref}`);
        }
        const inFile = this.offset - this.queuedBytes;
        while (this.pending.length && this.pending[0]!.end <= inFile) {
          const p = this.pending.shift()!;
          p.resolve(p.digest);
        }
      }
    } catch (e) {
      this.failure = e;
      this.queue.length = 0;
      this.queuedBytes = 0;
      for (const p of this.pending.splice(0)) p.reject(e);
    } finally {
      this.flushing = undefined;
    }
  }

  /** Only truncation to 0 is supported (as containerd): restarts the ingest. */
  async truncate(size: number): Promise<void> {
    this.check();
    if (size !== 0) throw invalidArgument(`ingest ref ${this.ref}: truncate to size other than 0 not supported`);
    await this.drain();
    this.truncated = true;
    await this.s.fh.truncate(0);
    this.hash = createHash('sha256');
    this.offset = 0;
    this.updatedAt = new Date();
  }

  /**
   * fsync → size check → digest check → AlreadyExists → rename into blobs/ → fsync dir →
   * chmod 0444 → remove the ingest dir. The rename is the commit point: later errors are logged.
   */
  async commit(size: number, expected?: Digest): Promise<Digest> {
    this.check();
    const what = `ingest ref ${this.ref}`;
    try {
      await this.drain();
      await this.s.fh.sync();
      if (size > 0 && size !== this.offset) throw failedPrecondition(`${what}: commit size ${size} does not match written size ${this.offset}: failed precondition`);
      const actual = this.digest();
      if (expected && expected !== actual) throw failedPrecondition(`${what}: unexpected commit digest ${actual}, expected ${expected}: failed precondition`);
      const target = blobPath(this.s.root, actual);
      if (await exists(target)) {
        await this.finish();
        await rm(this.s.dir, { recursive: true, force: true }).catch((e) => this.s.log.warn('remove ingest failed', { ref: this.ref, err: e as Error }));
        throw alreadyExists(`content ${actual}: already exists`);
      }
      await this.finish();
      try {
        await rename(join(this.s.dir, 'data'), target);
      } catch (e) {
        throw fromErrno(e, what);
      }
      try {
        await fsyncDir(blobsDir(this.s.root));
        await chmod(target, 0o444);
        await rm(this.s.dir, { recursive: true, force: true });
      } catch (e) {
        this.s.log.warn('content commit cleanup failed', { ref: this.ref, digest: actual, err: e as Error });
      }
      return actual;
    } finally {
      await this.finish();
    }
  }

  /** Releases the lock; the ingest stays resumable. Idempotent. */
  async close(): Promise<void> {
    await this.finish();
  }

  private check() {
    if (this.done) throw failedPrecondition(`ingest ref ${this.ref}: writer is closed`);
  }

  private async finish() {
    if (this.done) return;
    this.done = true;
    // Queued chunks go to the file before the handle closes (close must not lose acknowledged data).
    await this.drain().catch(() => undefined);
    try {
      await this.s.fh.close();
    } catch {
      /* already closed */
    }
    this.s.release();
  }
}

/** writev until every byte is written (a short write continues where it stopped). */
async function writevAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  let rest = bufs;
  while (rest.length) {
    const total = rest.reduce((a, b) => a + b.length, 0);
    const { bytesWritten } = rest.length === 1 ? await fh.write(rest[0]!, 0, rest[0]!.length) : await fh.writev(rest);
    if (bytesWritten >= total) return;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
