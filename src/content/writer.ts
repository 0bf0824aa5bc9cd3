import { createHash, type Hash } from 'node:crypto';
import { type FileHandle, chmod, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../core/digest';
import { alreadyExists, failedPrecondition, fromErrno, invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import { blobPath, blobsDir } from './paths';

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
  log: Logger;
  release: () => void;
}

/**
 * One open ingest of the local store. Appends to `data` (O_APPEND) and hashes incrementally;
 * the hash runs while the async write is in flight. Commit and close always release the lock.
 */
export class LocalWriter {
  readonly ref: string;
  private offset: number;
  private hash: Hash;
  private updatedAt = new Date();
  private done = false;

  constructor(private readonly s: LocalWriterInit) {
    this.ref = s.ref;
    this.offset = s.offset;
    this.hash = s.hash;
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

  async write(data: Buffer): Promise<void> {
    this.check();
    const p = writeAll(this.s.fh, data);
    this.hash.update(data);
    this.offset += data.length;
    this.updatedAt = new Date();
    try {
      await p;
    } catch (e) {
      throw fromErrno(e, `ingest ref ${this.ref}`);
    }
  }

  /** Only truncation to 0 is supported (as containerd): restarts the ingest. */
  async truncate(size: number): Promise<void> {
    this.check();
    if (size !== 0) throw invalidArgument(`ingest ref ${this.ref}: truncate to size other than 0 not supported`);
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
    try {
      await this.s.fh.close();
    } catch {
      /* already closed */
    }
    this.s.release();
  }
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
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

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
