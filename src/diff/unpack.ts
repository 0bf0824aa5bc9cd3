import { execFile, spawn } from 'node:child_process';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { findNativeBin } from '../core/node/native-bin';
import { SupervisorError, canceled, errnoCode, failedPrecondition, internal, invalidArgument, resourceExhausted } from '../core/errors';
import type { Digest } from '../core/digest';

/**
 * Runs native/build/berth-unpack, one process per layer: Node cannot mknod, set xattrs or
 * resolve paths with openat2(RESOLVE_IN_ROOT), and a per-file process would be far too slow.
 * The child also sniffs and decompresses gzip or zstd and computes both SHA-256s (ISA-L + OpenSSL, or zlib) on its
 * own thread, so Node only moves the blob's bytes into a pipe. Protocol: native/unpack/PROTOCOL.md.
 */
export type UnpackTarget =
  /** A directory holding the merged lower content (bind mount, native snapshotter, 1st layer). */
  | { kind: 'plain'; root: string }
  /** An overlay upper dir: whiteouts become 0:0 char devices / trusted.overlay.opaque. */
  | { kind: 'overlay'; upper: string; lowers?: string[] }
  /** A mount spec berth does not apply to directly: mounted by berth-unpack in a private mount ns. */
  | { kind: 'mount'; type: string; source: string; options: string[]; tmpdir: string };

export interface UnpackResult {
  /** sha256 and size of the whole uncompressed stream (ctr compares it with the diff_id). */
  digest: Digest;
  size: number;
  /** sha256 and size of the bytes berth-unpack read (the blob, compressed or not). */
  inputDigest: Digest;
  inputSize: number;
  /** `dev:ino` of the BlobFile berth-unpack opened (fstat of its descriptor). */
  inputFile?: string;
  format: 'gzip' | 'zstd' | 'tar';
  entries: number;
  /** Whether the result depended on where it was applied (see LayerStager). */
  whiteouts: number;
  implicitDirs: number;
  warnings: string[];
}

/** A blob berth-unpack reads itself (`--input`): no bytes through Node. */
export interface BlobFile {
  file: string;
}

export interface UnpackOptions {
  bin?: string;
  signal?: AbortSignal;
  /** Stages between `input` and berth-unpack (e.g. verifying a non-sha256 blob digest). */
  stages?: Transform[];
  /**
   * The blob's sha256 digest (and size, when > 0): checked against what berth-unpack read,
   * FailedPrecondition on a mismatch. It wins over the child's own error, so a corrupted blob
   * reads as a digest mismatch rather than as a gzip or tar error.
   */
  expect?: { digest: Digest; size: number };
  /**
   * With a BlobFile input: the file is a blob the content store verified at commit (read-only,
   * in berth's root), so berth-unpack skips the SHA-256 of the compressed bytes (`expect.size` is
   * still checked). result.inputDigest is then ''.
   */
  verifiedInput?: boolean;
  /**
   * With a BlobFile input: the file is still being written (a content ingest) and will hold this
   * many bytes; berth-unpack waits for them. Its digest is checked against `expect` at the end,
   * unless `verifiedInput` (the caller then verifies by other means: see LayerStager).
   */
  follow?: number;
  /**
   * Fail (ResourceExhausted) before the extraction would leave less than this many bytes free on
   * the target's filesystem (berth-unpack --min-free; core/node/space.ts says why).
   */
  minFree?: number;
}

const ENOSPC = 28;
const EDQUOT = 122;

/** BERTH_UNPACK_BIN, else native/build/berth-unpack (core/node/native-bin.ts). */
export function defaultUnpackBin(): string {
  const bin = findNativeBin('berth-unpack', 'BERTH_UNPACK_BIN');
  if (!bin) throw internal('berth-unpack not found: run `make -C native`');
  return bin;
}

/**
 * Marks `dir` as the top of directory hierarchies (berth-unpack --topdir; ext4's `chattr +T`):
 * its subdirectories are spread over block groups. False where the filesystem refuses it.
 */
export function markTopdir(dir: string, bin?: string): Promise<boolean> {
  return new Promise((resolve) => execFile(bin ?? defaultUnpackBin(), ['--topdir', dir], (e) => resolve(!e)));
}

export function unpackArgs(t: UnpackTarget): string[] {
  switch (t.kind) {
    case 'plain':
      return [t.root];
    case 'overlay':
      return ['--overlay', ...(t.lowers ?? []).flatMap((l) => ['--parent', l]), t.upper];
    case 'mount':
      return ['--mount', t.type, t.source, ...t.options.flatMap((o) => ['--option', o]), '--tmpdir', t.tmpdir];
  }
}

interface Message {
  type: 'done' | 'error' | 'warning';
  kind?: 'invalid' | 'internal' | 'usage';
  errno?: number;
  msg?: string;
  entries?: number;
  format?: 'gzip' | 'zstd' | 'tar';
  input_digest?: string;
  input_size?: number;
  input_file?: string;
  digest?: string;
  size?: number;
  whiteouts?: number;
  implicit_dirs?: number;
}

/** FailedPrecondition when what the child read is not the expected blob (unknown: no verdict). */
function checkInput(expect: UnpackOptions['expect'], m: Message | undefined): void {
  // Only a whole read says something about the blob: an error line has a digest only then.
  if (!expect || !m || (m.input_digest === undefined && m.type !== 'done')) return;
  if (m.input_digest !== undefined && m.input_digest !== expect.digest)
    throw failedPrecondition(`layer ${expect.digest}: content digest mismatch (read ${m.input_digest})`);
  if (expect.size > 0 && m.input_size !== expect.size)
    throw failedPrecondition(`layer ${expect.digest}: size mismatch: read ${m.input_size}, descriptor says ${expect.size}`);
}

/** The child died under us (it exited early): its own report explains why. */
function isPipeError(e: unknown): boolean {
  const c = errnoCode(e);
  return c === 'EPIPE' || c === 'ERR_STREAM_DESTROYED' || c === 'ERR_STREAM_PREMATURE_CLOSE' || c === 'ECONNRESET';
}

/**
 * Streams `input` (a gzip, zstd or plain tar) into berth-unpack with backpressure; the child digests
 * it. Never buffers the layer. Errors: FailedPrecondition when the input is not `opts.expect`,
 * InvalidArgument for a malformed/hostile archive or corrupt gzip, Internal for anything else;
 * `input`/stage errors win over the child's.
 */
export async function unpackTar(input: Readable | AsyncIterable<Buffer> | BlobFile, target: UnpackTarget, opts: UnpackOptions = {}): Promise<UnpackResult> {
  if (opts.signal?.aborted) throw canceled('layer apply: canceled');
  const file = 'file' in input ? input.file : undefined;
  const input_ =
    file === undefined
      ? []
      : ['--input', file, ...(opts.verifiedInput ? ['--no-input-digest'] : []), ...(opts.follow ? ['--follow', String(opts.follow)] : [])];
  const args = [...input_, ...(opts.minFree ? ['--min-free', String(opts.minFree)] : []), ...unpackArgs(target)];
  const child = spawn(opts.bin ?? defaultUnpackBin(), args, { stdio: [file !== undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const messages: Message[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    let i: number;
    while ((i = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, i);
      stdout = stdout.slice(i + 1);
      try {
        messages.push(JSON.parse(line) as Message);
      } catch {
        messages.push({ type: 'error', kind: 'internal', msg: `unparsable berth-unpack output: ${line.slice(0, 200)}` });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (e) => resolve({ code: null, signal: null, spawnError: e }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  child.stdin?.on('error', () => undefined); // EPIPE is reported through the pipeline

  const kill = () => child.kill('SIGKILL');
  opts.signal?.addEventListener('abort', kill, { once: true });

  let feedError: unknown;
  if (file === undefined) {
    try {
      const streams = [input, ...(opts.stages ?? []), child.stdin] as unknown as [Readable, NodeJS.WritableStream];
      await pipeline(...streams, opts.signal ? { signal: opts.signal } : {});
    } catch (e) {
      feedError = e;
      if (!isPipeError(e)) kill();
    }
  }
  const exit = await closed;
  opts.signal?.removeEventListener('abort', kill);

  if (opts.signal?.aborted) throw canceled('layer apply: canceled');
  if (feedError !== undefined && !isPipeError(feedError)) {
    if (feedError instanceof SupervisorError) throw feedError;
    throw internal(`layer apply: reading layer: ${(feedError as Error)?.message ?? String(feedError)}`, { cause: feedError });
  }
  if (exit.spawnError) throw internal(`layer apply: cannot run berth-unpack: ${exit.spawnError.message}`, { cause: exit.spawnError });
  const failure = messages.find((m) => m.type === 'error');
  const done = messages.find((m) => m.type === 'done');
  checkInput(opts.expect, failure ?? done);
  if (failure) {
    const msg = `layer apply: ${failure.msg ?? 'failed'}`;
    if (failure.kind === 'invalid') throw invalidArgument(msg);
    // Out of space (ENOSPC, EDQUOT) is the host's limit, not a bug: ResourceExhausted, as the content store says it.
    if (failure.errno === ENOSPC || failure.errno === EDQUOT) throw resourceExhausted(msg);
    throw internal(msg);
  }
  if (!done || exit.code !== 0 || feedError !== undefined || !done.digest || (!done.input_digest && !(file !== undefined && opts.verifiedInput))) {
    const how = exit.signal ? `killed by ${exit.signal}` : `exited ${exit.code}`;
    throw internal(`layer apply: berth-unpack ${how} without a result${stderr ? `: ${stderr.trim().slice(0, 500)}` : ''}`);
  }
  return {
    digest: done.digest as Digest,
    size: done.size ?? 0,
    inputDigest: (done.input_digest ?? '') as Digest,
    inputSize: done.input_size ?? 0,
    ...(done.input_file ? { inputFile: done.input_file } : {}),
    format: done.format ?? 'tar',
    entries: done.entries ?? 0,
    whiteouts: done.whiteouts ?? 0,
    implicitDirs: done.implicit_dirs ?? 0,
    warnings: messages.filter((m) => m.type === 'warning').map((m) => m.msg ?? ''),
  };
}
