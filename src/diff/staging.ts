import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Ctx } from '../core/context';
import type { Digest } from '../core/digest';
import { canceled, errnoCode, internal } from '../core/errors';
import type { Logger } from '../core/logger';
import { markTopdir, unpackTar, type UnpackResult, type UnpackTarget } from './unpack';

/**
 * Pre-extraction of layers while ctr is still fetching: ctr 1.6 `images pull` fetches every blob
 * first and only then unpacks, one layer after another (Stat, Prepare, Diff/Apply, Commit). When
 * ctr opens the ingest of a `layer-` blob with its expected digest, berth already extracts it
 * from the growing ingest file (`offerIngest`; berth-unpack --follow), or else from the blob once
 * committed (`offer`), into a staging dir (overlay mode, no lower dirs) on the same filesystem as
 * the snapshots. A staged result counts only if the bytes it read are the layer's (an ingest's
 * bytes are unverified until its commit), shown one of two ways:
 *
 *  - the ingest's writer is named (`IngestSource`): berth-unpack does not hash the input (the
 *    writer hashes the same bytes as it appends them). The result counts once that very writer
 *    committed the blob under this digest and size without truncating the file while open, and
 *    berth-unpack's descriptor was that writer's file (same dev:ino; the writer keeps it open, so
 *    the inode cannot be reused meanwhile). The file only ever grows while one writer holds it
 *    (an appending writer, a lock per ref), so what berth-unpack read is what was committed.
 *  - otherwise berth-unpack hashes what it read and that must equal the digest.
 *
 * Diff/Apply then only moves the staged entries into
 * the fresh snapshot when that gives exactly what applying there would have given:
 *
 *  - the target is an overlay upper dir, or a plain root (the first layer's bind mount) for a
 *    layer without whiteouts (a plain root turns them into deletions, not 0:0 devices);
 *  - the target is empty (a fresh Prepare), so moving entries in is the same as creating them;
 *  - with lower dirs, no parent directory was created implicitly (an applier with lowers copies
 *    their attributes; the staged one used 0755 root).
 *
 * Anything else, a staging failure, or a job not started yet falls back to a normal Apply. The
 * staged extraction is the same confined berth-unpack run and checks the same digests (blob and
 * diff_id; ctr compares the latter with the config). Unclaimed staged trees are removed after
 * `ttlMs` (a `ctr content fetch` never applies), at once when the ingest or blob they come from
 * is removed (an abort, a lease removed: `ingestRemoved`, `blobRemoved`), and the whole staging
 * dir at daemon start.
 */
export interface StagerOptions {
  bin?: string;
  /** Bytes an extraction leaves free on the filesystem (UnpackOptions.minFree). */
  minFree?: number;
  log: Logger;
  /**
   * Extractions running at once (each is two threads). One following a growing ingest is paced
   * by it and mostly waits: ctr writes every layer of an image at once, and a layer that starts
   * only after the others are written is then extracted after the fetch, on the pull's critical
   * path. So ingests are all followed (up to this cap) ...
   */
  maxRunning?: number;
  /** ... while extractions of complete files (committed blobs), which run flat out, are fewer. */
  maxReading?: number;
  /** Staged or queued layers at most; later offers are ignored. */
  maxJobs?: number;
  /** How long a finished, unclaimed staged tree is kept. */
  ttlMs?: number;
}

/** The open ingest whose data file a growing job reads (metadata/content.ts OpenedIngest). */
export interface IngestSource {
  session: number;
  fileId: string;
}

/** Who committed a blob (metadata/content.ts CommittedBlob.from). */
export interface CommitSource {
  session: number;
  rewritten: boolean;
}

interface Job {
  digest: Digest;
  file: string;
  size: number;
  /** The file is an ingest still being written (not verified yet). */
  growing: boolean;
  /** A growing job's writer: its input is not hashed, the commit confirms it (`confirmed`). */
  source?: IngestSource;
  /** The source's writer committed this digest and size, without truncating. */
  confirmed?: boolean;
  /** Set when the blob was committed while this (growing) job ran: the fallback if it fails. */
  committed?: { file: string; size: number };
  dir: string;
  started: boolean;
  abort: AbortController;
  result?: Promise<UnpackResult | undefined>;
  timer?: NodeJS.Timeout;
}

export class LayerStager {
  private readonly jobs = new Map<Digest, Job>();
  private running = 0;
  /** Running jobs that read a complete file. */
  private reading = 0;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly opts: StagerOptions,
  ) {}

  /** Empties `dir` (staged trees of a previous run) and returns a stager using it. */
  static async open(dir: string, opts: StagerOptions): Promise<LayerStager> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Each staged layer is a tree of its own: let ext4 place them apart (see markTopdir).
    if (!(await markTopdir(dir, opts.bin))) opts.log.debug('layer staging: the staging dir takes no topdir flag', { dir });
    return new LayerStager(dir, opts);
  }

  /**
   * A committed layer blob (its file in the content store): queue its extraction, or confirm
   * the job following the ingest `from` committed.
   */
  offer(digest: Digest, file: string, size: number, from?: CommitSource): void {
    this.opts.log.debug('layer staging: committed', { digest, size });
    const j = this.jobs.get(digest);
    if (j?.growing) {
      if (!j.started) {
        Object.assign(j, { file, size, growing: false });
        delete j.source;
      } else {
        j.committed = { file, size };
        if (j.source && from && from.session === j.source.session && !from.rewritten && size === j.size) j.confirmed = true;
      }
      return;
    }
    this.add(digest, file, size, false);
  }

  /**
   * An ingest that will become layer `digest` (`total` bytes, written to `file` from now on);
   * `source` names its writer (then the input is not hashed: see above).
   */
  offerIngest(digest: Digest, file: string, total: number, source?: IngestSource): void {
    this.opts.log.debug('layer staging: ingest opened', { digest, size: total });
    if (total > 0) this.add(digest, file, total, true, source);
  }

  /**
   * The ingest whose data file is `file` was removed (aborted, or its lease went away): a job
   * still reading it is stopped and its staged tree removed now, not after `ttlMs`.
   */
  ingestRemoved(file: string): void {
    for (const job of [...this.jobs.values()]) if (job.growing && !job.committed && job.file === file) void this.drop(job);
  }

  /** The committed blob `file` was removed from disk (GC): what was staged from it goes too. */
  blobRemoved(file: string): void {
    for (const job of [...this.jobs.values()]) if ((!job.growing && job.file === file) || job.committed?.file === file) void this.drop(job);
  }

  private add(digest: Digest, file: string, size: number, growing: boolean, source?: IngestSource): void {
    if (this.closed || this.jobs.has(digest) || this.jobs.size >= (this.opts.maxJobs ?? 64)) return;
    const dir = join(this.dir, `${digest.replace(/[^a-z0-9]/gi, '-').slice(0, 80)}-${randomBytes(4).toString('hex')}`);
    this.jobs.set(digest, { digest, file, size, growing, ...(growing && source ? { source } : {}), dir, started: false, abort: new AbortController() });
    this.pump();
  }

  private pump(): void {
    for (const job of this.jobs.values()) {
      if (this.running >= (this.opts.maxRunning ?? 8)) return;
      if (job.started || (!job.growing && this.reading >= (this.opts.maxReading ?? 3))) continue;
      job.started = true;
      const growing = job.growing;
      this.running++;
      if (!growing) this.reading++;
      job.result = this.extract(job).finally(() => {
        this.running--;
        if (!growing) this.reading--;
        if (this.jobs.get(job.digest) === job) job.timer = setTimeout(() => this.drop(job), this.opts.ttlMs ?? 120_000).unref();
        this.pump();
      });
    }
  }

  private async extract(job: Job): Promise<UnpackResult | undefined> {
    const root = join(job.dir, 'fs');
    const t0 = process.hrtime.bigint();
    this.opts.log.debug('layer staging: started', { digest: job.digest, growing: job.growing });
    try {
      await mkdir(root, { recursive: true, mode: 0o755 });
      const r = await unpackTar(
        { file: job.file },
        { kind: 'overlay', upper: root },
        {
          bin: this.opts.bin,
          minFree: this.opts.minFree,
          signal: job.abort.signal,
          expect: { digest: job.digest, size: job.size },
          // A committed blob was verified by the content store; an ingest's bytes are hashed here
          // unless its writer is known (it hashes them; adopt checks it committed them).
          verifiedInput: !job.growing || job.source !== undefined,
          ...(job.growing ? { follow: job.size } : {}),
        },
      );
      this.opts.log.debug('layer staging: done', { digest: job.digest, ms: Math.round(Number(process.hrtime.bigint() - t0) / 1e6) });
      return r;
    } catch (e) {
      this.opts.log.debug('layer staging failed', { digest: job.digest, err: (e as Error).message });
      await rm(job.dir, { recursive: true, force: true }).catch(() => undefined);
      // Forget it at once: the blob may still be committed later (a resumed ingest) and staged then;
      // if it already was (a small layer can be renamed into blobs/ before berth-unpack opens the
      // ingest file), stage the committed blob now.
      if (this.jobs.get(job.digest) === job) {
        this.jobs.delete(job.digest);
        if (job.committed && !this.closed) this.add(job.digest, job.committed.file, job.committed.size, false);
      }
      return undefined;
    }
  }

  /** Forgets the job, stops its extraction and removes its dir (the promise: once removed). */
  private drop(job: Job): Promise<void> {
    if (this.jobs.get(job.digest) === job) this.jobs.delete(job.digest);
    clearTimeout(job.timer);
    job.abort.abort();
    return (job.result ?? Promise.resolve()).then(() => rm(job.dir, { recursive: true, force: true })).catch(() => undefined);
  }

  /**
   * Applies `digest` from its staged extraction into the empty `target` when that is exact (see
   * above); undefined when the caller must apply normally (nothing was written to the target).
   */
  async adopt(ctx: Ctx, digest: Digest, target: UnpackTarget): Promise<UnpackResult | undefined> {
    const job = this.jobs.get(digest);
    if (!job) return undefined;
    this.jobs.delete(digest); // one Apply claims it; a concurrent one applies normally
    clearTimeout(job.timer);
    if (!job.started || !job.result) {
      void this.drop(job);
      return undefined;
    }
    // The blob is committed by now. A job following the very writer that committed it has all its
    // bytes and finishes (however loaded the machine: giving up would extract the layer a second
    // time); one following another writer's ingest may wait on an abandoned file: bounded wait.
    const r = await waitOrCancel(job.result, ctx.signal, job.growing && !job.confirmed ? 2000 + job.size / 20_000 : undefined);
    if (r === 'canceled') {
      void this.drop(job);
      throw canceled('layer apply: canceled');
    }
    if (r === 'timeout') {
      void this.drop(job);
      return undefined;
    }
    const root = target.kind === 'overlay' ? target.upper : target.kind === 'plain' ? target.root : undefined;
    // An unhashed ingest read counts only as what its own writer committed (see above).
    const verified = !job.source || (job.confirmed === true && r !== undefined && r.inputFile === job.source.fileId && r.inputSize === job.size);
    const fits =
      verified &&
      r !== undefined &&
      root !== undefined &&
      (target.kind === 'overlay' ? r.implicitDirs === 0 || !target.lowers?.length : r.whiteouts === 0) &&
      (await readdir(root).catch(() => ['?'])).length === 0;
    if (!fits || !r || !root) {
      void this.drop(job);
      return undefined;
    }
    const staged = join(job.dir, 'fs');
    const names = await readdir(staged);
    let moved = 0;
    try {
      for (const name of names) {
        await rename(join(staged, name), join(root, name));
        moved++;
      }
    } catch (e) {
      if (moved === 0 && errnoCode(e) === 'EXDEV') {
        this.opts.log.info('layer staging: staging dir is on another filesystem than the snapshots; applying normally', { digest });
        void this.drop(job);
        return undefined;
      }
      void this.drop(job);
      throw internal(`layer ${digest}: moving the staged layer into place: ${(e as Error).message}`, { cause: e });
    }
    // What is left of the staged tree is its empty root: gone before the Apply answers.
    await this.drop(job);
    return r;
  }

  /** Stops running extractions and removes every staged tree. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.jobs.values()];
    for (const job of pending) void this.drop(job);
    await Promise.all(pending.map((j) => j.result?.catch(() => undefined)));
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function waitOrCancel<T>(p: Promise<T>, signal?: AbortSignal, timeoutMs?: number): Promise<T | 'canceled' | 'timeout'> {
  if (signal?.aborted) return 'canceled';
  let onAbort: () => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const stop = new Promise<'canceled' | 'timeout'>((resolve) => {
    onAbort = () => resolve('canceled');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([p, stop]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(timer);
  }
}
