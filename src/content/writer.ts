import { createHash, type Hash } from 'node:crypto';
import { writevSync } from 'node:fs';
import { type FileHandle, chmod, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../core/digest';
import { alreadyExists, failedPrecondition, fromErrno, invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import { blobPath, blobsDir } from './paths';
import { fsyncDir } from '../core/node/files';
import type { SpaceGuard } from '../core/node/space';

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
  /** Refuses bytes that would fill the disk (ResourceExhausted): see core/node/space.ts. */
  space?: SpaceGuard;
}

let sessions = 0;

/** Most bytes and buffers one coalesced writev may carry (IOV_MAX is 1024 on Linux). */
export const MAX_WRITE_BATCH_BYTES = 32 << 20;
export const MAX_WRITE_BATCH_BUFFERS = 1024;
/** Appended pieces are written once this many bytes are queued (or at `flushed()`), in thread-pool mode. */
export const APPEND_BATCH_BYTES = 256 << 10;
/**
 * A write on the event loop that took longer than this sends the writer's streamed chunks to the
 * thread pool for SYNC_BACKOFF_MS: a throttled or slow disk must not stall every other call. Not
 * for good: one slow write (an ext4 journal commit, another ingest's writeback) is common and
 * passes, and ping-pong clients pay a pool round trip per chunk (bench runs of 1 GiB through ctr
 * fell from ~330 to ~240 MiB/s when a single 5 ms write switched the rest of the ingest).
 */
export const SYNC_WRITE_MAX_MS = 4;
export const SYNC_BACKOFF_MS = 500;
/** Deferred hashing runs in slices of this many bytes per event-loop turn. */
const HASH_SLICE_BYTES = 1 << 20;
/** Past this many unhashed bytes, `append` hashes at once (bounds what deferral holds). */
const MAX_UNHASHED_BYTES = 16 << 20;

interface PendingWrite {
  /** Writer offset once this chunk is in the file. */
  end: number;
  resolve: () => void;
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
 *
 * Streamed pieces (`append`, the pieces of one large WRITE as they arrive) differ in two ways,
 * both so that a ping-pong client (ctr sends one 1 MiB WRITE per round trip) finds the reply
 * ready at once and sends its next chunk while we hash:
 * - they are written on the event loop, all pieces of one socket read in one writev, so at the
 *   chunk's end only the last read's bytes remain to write and no thread-pool round trip delays
 *   the reply. Not when the client pipelines (a chunk starts in the event-loop iteration where
 *   the last one ended): the pool then writes while the loop reads. A write slower than
 *   SYNC_WRITE_MAX_MS moves the writer to the pool for a while (SYNC_BACKOFF_MS);
 * - they are hashed later, a slice per turn after the reply went out, or at once when a digest
 *   is asked for (`digest`, `write`, commit): `flushed` does not give a digest.
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
  private released = false;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private readonly pending: PendingWrite[] = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;
  /** Bytes known to be in the file. */
  private inFile: number;
  /** Appended pieces not yet hashed, oldest first (they follow everything hashed). */
  private unhashed: Buffer[] = [];
  private unhashedBytes = 0;
  private hashing: NodeJS.Immediate | undefined;
  /** performance.now() before which streamed chunks go to the pool (after a slow write). */
  private syncAfter = 0;
  private syncQueued = false;
  /** Whether the current streamed chunk is written on the event loop; decided at its first piece. */
  private syncChunk = true;
  /** No piece appended since the last `flushed()`: the next piece starts a chunk. */
  private chunkEnded = true;
  /** A chunk ended during the current event-loop iteration. */
  private endedThisTurn = false;

  constructor(private readonly s: LocalWriterInit) {
    this.ref = s.ref;
    this.offset = s.offset;
    this.inFile = s.offset;
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
    this.hashUpTo(Infinity);
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
      this.takeSpace(data.length);
    } catch (e) {
      return Promise.reject(e);
    }
    if (data.length === 0) return Promise.resolve(this.digest());
    this.queue.push(data);
    this.queuedBytes += data.length;
    // Start the write before hashing so the two overlap (the write runs on the libuv pool).
    if (!this.flushing) this.flushing = this.flush();
    // Streamed pieces still unhashed come before `data` in the stream.
    this.hashUpTo(Infinity);
    this.hash.update(data);
    this.offset += data.length;
    this.updatedAt = new Date();
    const digest = this.digest();
    return new Promise<Digest>((resolve, reject) => this.pending.push({ end: this.offset, resolve: () => resolve(digest), reject }));
  }

  /** Fails the writer (ResourceExhausted) when `n` more bytes would leave the disk too full. */
  private takeSpace(n: number): void {
    try {
      this.s.space?.take(n, `ingest ref ${this.ref}`);
    } catch (e) {
      this.fail(e);
      throw e;
    }
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
    this.takeSpace(piece.length);
    if (this.chunkEnded) {
      // The next chunk starting in the event-loop iteration where the last ended means the
      // client pipelines: the thread pool then writes while we read (faster than writing here);
      // a ping-pong client's next chunk only comes after our reply, in a later iteration.
      this.chunkEnded = false;
      this.syncChunk = !this.endedThisTurn && (this.syncAfter === 0 || performance.now() >= this.syncAfter);
    }
    this.queue.push(piece);
    this.queuedBytes += piece.length;
    this.unhashed.push(piece);
    this.unhashedBytes += piece.length;
    this.offset += piece.length;
    if (this.unhashedBytes > MAX_UNHASHED_BYTES) this.hashUpTo(Infinity);
    if (this.flushing) return;
    // Pieces are small (HTTP/2 frames): those of one socket read go in one writev (the microtask
    // runs when the read's frames are parsed); in thread-pool mode, in batches.
    if (this.syncChunk) {
      if (!this.syncQueued) {
        this.syncQueued = true;
        queueMicrotask(() => {
          // flushed() may have written them already, and queued pieces since are a pool chunk's.
          if (this.syncQueued) this.writeQueuedNow();
        });
      }
    } else if (this.queuedBytes >= APPEND_BATCH_BYTES) this.flushing = this.flush();
  }

  /** Resolves once everything appended or written so far is in the file (rejects if a write failed). */
  flushed(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.updatedAt = new Date();
    this.chunkEnded = true;
    if (!this.endedThisTurn) {
      this.endedThisTurn = true;
      // Cleared in the check phase, after this iteration's callbacks and before the next socket
      // reads: a chunk that starts before then came from data already received (paused streams
      // hold theirs until the handler asks for the next message).
      setImmediate(() => (this.endedThisTurn = false));
    }
    this.hashSoon();
    if (this.syncQueued) this.writeQueuedNow();
    if (this.failure) return Promise.reject(this.failure);
    if (!this.flushing && this.queue.length) this.flushing = this.flush();
    if (this.inFile === this.offset && !this.flushing) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.pending.push({ end: this.offset, resolve, reject }));
  }

  /** Writes the queue on the event loop (streamed pieces, see the class comment). */
  private readonly writeQueuedNow = (): void => {
    this.syncQueued = false;
    if (this.flushing || this.failure || this.done || !this.queue.length) return;
    if (this.queue.length > MAX_WRITE_BATCH_BUFFERS) {
      this.flushing = this.flush();
      return;
    }
    const bufs = this.queue.splice(0);
    this.queuedBytes = 0;
    const t0 = performance.now();
    try {
      writevAllSync(this.s.fh.fd, bufs);
    } catch (e) {
      this.fail(fromErrno(e, `ingest ref ${this.ref}`));
      return;
    }
    const t1 = performance.now();
    if (t1 - t0 > SYNC_WRITE_MAX_MS) {
      this.syncAfter = t1 + SYNC_BACKOFF_MS;
      this.syncChunk = false;
    }
    this.wrote();
  };

  /** Hashes unhashed pieces, oldest first, until at least `bytes` were hashed or none are left. */
  private hashUpTo(bytes: number): void {
    let n = 0;
    while (this.unhashed.length && n < bytes) {
      const b = this.unhashed.shift()!;
      this.hash.update(b);
      n += b.length;
      this.unhashedBytes -= b.length;
    }
  }

  private hashSoon(): void {
    if (this.hashing || !this.unhashed.length) return;
    // setImmediate: after this turn's replies (the outbox writes on nextTick) and between socket reads.
    this.hashing = setImmediate(() => {
      this.hashing = undefined;
      this.hashUpTo(HASH_SLICE_BYTES);
      this.hashSoon();
    });
  }

  /** After a write: records what is in the file and resolves the writes it completes. */
  private wrote(): void {
    const inFile = (this.inFile = this.offset - this.queuedBytes);
    while (this.pending.length && this.pending[0]!.end <= inFile) {
      this.pending.shift()!.resolve();
    }
  }

  private fail(e: unknown): void {
    this.failure = e;
    this.queue.length = 0;
    this.queuedBytes = 0;
    for (const p of this.pending.splice(0)) p.reject(e);
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
        while (n < this.queue.length && n < MAX_WRITE_BATCH_BUFFERS && (n === 0 || bytes + this.queue[n]!.length <= MAX_WRITE_BATCH_BYTES))
          bytes += this.queue[n++]!.length;
        const batch = this.queue.splice(0, n);
        this.queuedBytes -= bytes;
        try {
          await writevAll(this.s.fh, batch);
        } catch (e) {
          throw fromErrno(e, `ingest ref ${this.ref}`);
        }
        this.wrote();
      }
    } catch (e) {
      this.fail(e);
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
    this.unhashed = [];
    this.unhashedBytes = 0;
    this.offset = 0;
    this.inFile = 0;
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
      if (size > 0 && size !== this.offset)
        throw failedPrecondition(`${what}: commit size ${size} does not match written size ${this.offset}: failed precondition`);
      const actual = this.digest();
      if (expected && expected !== actual) throw failedPrecondition(`${what}: unexpected commit digest ${actual}, expected ${expected}: failed precondition`);
      const target = blobPath(this.s.root, actual);
      if (await exists(target)) {
        await this.finish(false);
        await rm(this.s.dir, { recursive: true, force: true }).catch((e) => this.s.log.warn('remove ingest failed', { ref: this.ref, err: e as Error }));
        throw alreadyExists(`content ${actual}: already exists`);
      }
      await this.finish(false);
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

  /**
   * Closes the file; `release` also gives up the ingest's lock. Commit keeps the lock until the
   * ingest dir is gone: a writer that took the ref meanwhile would resume into a dir being removed.
   */
  private async finish(release = true) {
    if (!this.done) {
      this.done = true;
      if (this.hashing) clearImmediate(this.hashing);
      this.hashing = undefined;
      // Queued chunks go to the file before the handle closes (close must not lose acknowledged data).
      await this.drain().catch(() => undefined);
      try {
        await this.s.fh.close();
      } catch {
        /* already closed */
      }
    }
    if (release && !this.released) {
      this.released = true;
      this.s.release();
    }
  }
}

/** writev until every byte is written (a short write continues where it stopped). */
async function writevAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  let rest = bufs;
  while (rest.length) {
    const total = rest.reduce((a, b) => a + b.length, 0);
    const { bytesWritten } = rest.length === 1 ? await fh.write(rest[0]!, 0, rest[0]!.length) : await fh.writev(rest);
    if (bytesWritten >= total) return;
    rest = unwritten(rest, bytesWritten);
  }
}

/** What is left of `bufs` after a short write of `n` bytes. */
function unwritten(bufs: Buffer[], n: number): Buffer[] {
  const next: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) n -= b.length;
    else {
      next.push(n ? b.subarray(n) : b);
      n = 0;
    }
  }
  return next;
}

/** writevSync until every byte is written. */
function writevAllSync(fd: number, bufs: Buffer[]): void {
  let rest = bufs;
  while (rest.length) {
    const total = rest.reduce((a, b) => a + b.length, 0);
    const n = writevSync(fd, rest);
    if (n >= total) return;
    rest = unwritten(rest, n);
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
