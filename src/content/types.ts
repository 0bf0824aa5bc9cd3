import type { Ctx } from '../core/context';
import type { Digest } from '../core/digest';
import type { Labels } from '../core/types';

/** containerd's content.Info. */
export interface Info {
  digest: Digest;
  size: number;
  createdAt: Date;
  updatedAt: Date;
  labels: Labels;
}

/** containerd's content.Status: an in-progress ingest. */
export interface Status {
  ref: string;
  offset: number;
  total: number;
  expected?: Digest;
  startedAt: Date;
  updatedAt: Date;
}

export interface ReadOptions {
  offset?: number;
  /** 0 or absent: to the end. */
  size?: number;
}

/** Reads committed blobs. Chunks are at most 1 MiB. */
export interface Provider {
  info(ctx: Ctx, digest: Digest): Promise<Info>;
  read(ctx: Ctx, digest: Digest, opts?: ReadOptions): AsyncIterable<Buffer>;
}

export interface WriterOptions {
  ref: string;
  total?: number;
  expected?: Digest;
}

/** One open ingest. `commit` and `close` always release the ref's lock. */
export interface Writer {
  readonly ref: string;
  status(): Promise<Status>;
  /** Digest of everything written so far. */
  digest(): Digest;
  /**
   * Appends at the current offset. Writes may be issued without waiting for the previous one
   * (they are applied in call order); each resolves once its data is in the file, with the digest
   * as of that chunk where the writer knows it. `data` must not be modified until then.
   */
  write(data: Buffer): Promise<Digest | void>;
  /**
   * Optional: the target for streaming a WRITE's data as it arrives (pieces appended in order;
   * `flushed` resolves once all of it is in the file, its hash maybe still pending), or
   * undefined when the writer cannot stream right now.
   */
  streamTarget?(): StreamTarget | undefined;
  /** Restarts the ingest; only size 0 is supported (containerd's Truncate). */
  truncate(size: number): Promise<void>;
  /** Checks size/digest, makes the blob visible; AlreadyExists if it already was. Returns the digest. */
  commit(size: number, expected?: Digest, labels?: Labels): Promise<Digest>;
  /** Releases the lock, keeping the ingest resumable. */
  close(): Promise<void>;
}

export interface StreamTarget {
  /** Offset the next appended byte lands at. */
  readonly accepted: number;
  append(piece: Buffer): void;
  flushed(): Promise<void>;
}

export interface Ingester {
  /** Opens (or resumes) the ingest `ref`. Unavailable if another writer holds it. */
  writer(ctx: Ctx, opts: WriterOptions): Promise<Writer>;
}

export interface Manager {
  update(ctx: Ctx, info: Pick<Info, 'digest' | 'labels'>, fieldpaths?: string[]): Promise<Info>;
  walk(ctx: Ctx, filters?: readonly string[]): AsyncIterable<Info>;
  delete(ctx: Ctx, digest: Digest): Promise<void>;
}

export interface IngestManager {
  status(ctx: Ctx, ref: string): Promise<Status>;
  listStatuses(ctx: Ctx, filters?: readonly string[]): Promise<Status[]>;
  abort(ctx: Ctx, ref: string): Promise<void>;
}

/** The namespaced content store the services use (containerd's metadata content store). */
export interface ContentStore extends Provider, Ingester, Manager, IngestManager {}

/** A blob that just became visible in `ns` through the ingest `ref`. */
export interface CommittedBlob {
  ns: string;
  ref: string;
  digest: Digest;
  size: number;
  /**
   * The ingest the blob was committed from, when it was written here (not already on disk): its
   * `OpenedIngest.session`, and whether it was truncated (restarted) while open. Its bytes, the
   * whole data file, hashed to `digest`.
   */
  from?: { session: number; rewritten: boolean };
}

/** A fresh ingest opened in the local store under `backendRef` (its `data` file grows from here). */
export interface OpenedIngest {
  ns: string;
  ref: string;
  backendRef: string;
  expected?: Digest;
  total: number;
  /** This open ingest (its writer), as named again by `CommittedBlob.from`. */
  session: number;
  /** `dev:ino` of its data file: a reader of `data` checks it opened this very file. */
  fileId: string;
}

/**
 * Observers of the content store (see observe). Called synchronously; they must not block or
 * throw. The diff slice uses them to extract a `layer-` blob while ctr is still writing it, and
 * to drop what it extracted once the data is gone.
 */
export interface ContentObserver {
  ingestOpened?(i: OpenedIngest): void;
  committed?(c: CommittedBlob): void;
  /** The ingest `backendRef` was removed from disk (aborted, or its lease went away). */
  ingestRemoved?(backendRef: string): void;
  /** The blob's file was removed from disk (garbage collected). */
  blobRemoved?(digest: Digest): void;
}
