/**
 * The Diff service's compute side (containerd's DiffService.Diff / Compare): the changes between
 * two mount sets as a layer in the content store. berth-diff (native/diff) writes the tar: from an
 * overlay upper dir directly (a committed overlay snapshot's dir, or an active one's upperdir: its
 * content is the change set, 0/0 devices become `.wh.` files, opaque dirs `.wh..wh..opq`) or by
 * comparing two plain trees (bind mounts: the native snapshotter, a layer with no parent). Here
 * the tar is hashed (the diff_id), gzipped, hashed again and written as a blob labelled
 * `containerd.io/uncompressed`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import { findNativeBin } from '../core/node/native-bin';
import type { Ingester } from '../content/types';
import type { Ctx } from '../core/context';
import { internal, invalidArgument, notImplemented } from '../core/errors';
import type { Descriptor, Labels, Mount } from '../core/types';

export const MEDIA_TYPE_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const LABEL_UNCOMPRESSED = 'containerd.io/uncompressed';

export interface CompareOptions {
  /** `…layer.v1.tar+gzip` (default) or `…layer.v1.tar`. */
  mediaType?: string;
  /** Content ingest ref; default `diff-<random>`. */
  ref?: string;
  labels?: Labels;
}

export interface ComputedDiff {
  desc: Descriptor;
  /** sha256 of the uncompressed tar. */
  diffId: string;
}

/** How berth-diff reads the change: one overlay dir, or two trees compared. */
export type DiffSource = { kind: 'overlay'; dir: string } | { kind: 'compare'; lower?: string; upper: string };

function opt(m: Mount, k: string): string | undefined {
  return m.options.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
}

const isBind = (m: Mount) => m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');

/** A mount set's dirs, topmost first: a bind's source, an overlay's upper then lowers. */
function dirsOf(mounts: readonly Mount[], side: string): string[] {
  if (mounts.length === 0) return [];
  if (mounts.length > 1) throw notImplemented(`diff: ${side}: ${mounts.length} stacked mounts are not supported`);
  const m = mounts[0]!;
  if (isBind(m)) return [m.source];
  if (m.type === 'overlay') return [opt(m, 'upperdir'), ...(opt(m, 'lowerdir') ?? '').split(':')].filter((d): d is string => !!d);
  throw notImplemented(`diff: ${side}: ${m.type} mounts are not supported (overlay and bind are)`);
}

/** Chooses how to read the change between `lower` and `upper` (the snapshotters' mounts). */
export function diffSource(lower: readonly Mount[], upper: readonly Mount[]): DiffSource {
  if (upper.length === 0) throw invalidArgument('diff: the right (upper) mounts are empty');
  const low = dirsOf(lower, 'left');
  const up = dirsOf(upper, 'right');
  const u = upper[0]!;
  // An overlay whose layers below its top one are exactly the lower side: the top is the change.
  if (u.type === 'overlay' && up.length === low.length + 1 && up.slice(1).every((d, i) => d === low[i])) return { kind: 'overlay', dir: up[0]! };
  if (isBind(u) && low.length <= 1 && (lower.length === 0 || isBind(lower[0]!))) return { kind: 'compare', lower: low[0], upper: up[0]! };
  throw notImplemented('diff: these mounts are not one overlay layer apart, nor two plain directories');
}

/** BERTH_DIFF_BIN, else native/build/berth-diff (core/node/native-bin.ts). */
export function defaultDiffBin(): string {
  const bin = findNativeBin('berth-diff', 'BERTH_DIFF_BIN');
  if (!bin) throw internal('berth-diff not found: run `make -C native`');
  return bin;
}

export class LayerDiffer {
  constructor(
    private readonly content: Ingester,
    private readonly opts: { bin?: string } = {},
  ) {}

  async compare(ctx: Ctx, lower: readonly Mount[], upper: readonly Mount[], o: CompareOptions = {}): Promise<ComputedDiff> {
    const mediaType = o.mediaType || MEDIA_TYPE_LAYER_GZIP;
    if (mediaType !== MEDIA_TYPE_LAYER_GZIP && mediaType !== MEDIA_TYPE_LAYER)
      throw notImplemented(`diff: media type ${JSON.stringify(mediaType)} is not supported`);
    const src = diffSource(lower, upper);
    let empty: string | undefined;
    try {
      if (src.kind === 'compare' && !src.lower) empty = await mkdtemp(join(tmpdir(), 'berth-diff-empty-'));
      const args = src.kind === 'overlay' ? ['--overlay', src.dir] : [src.lower ?? empty!, src.upper];
      return await this.run(ctx, args, mediaType, o);
    } finally {
      if (empty) await rm(empty, { recursive: true, force: true });
    }
  }

  private async run(ctx: Ctx, args: string[], mediaType: string, o: CompareOptions): Promise<ComputedDiff> {
    const ref = o.ref || `diff-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    // The writer first: the tar must be piped on as soon as berth-diff runs (output that waited on
    // an unread pipe across an await was lost when the child had exited meanwhile).
    const w = await this.content.writer(ctx, { ref });
    const child = spawn(this.opts.bin ?? defaultDiffBin(), args, { stdio: ['ignore', 'pipe', 'pipe'], signal: ctx.signal });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8192)));
    const exited = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? -1));
    });
    const tarHash = createHash('sha256');
    const blobHash = createHash('sha256');
    const gzip = mediaType === MEDIA_TYPE_LAYER_GZIP;
    let size = 0;
    try {
      const tar = child.stdout!.pipe(
        new Transform({
          transform(b: Buffer, _e, cb) {
            tarHash.update(b);
            cb(null, b);
          },
        }),
      );
      const source = gzip ? tar.pipe(createGzip()) : tar;
      for await (const chunk of source as AsyncIterable<Buffer>) {
        blobHash.update(chunk);
        size += chunk.length;
        await w.write(chunk);
      }
      const code = await exited;
      if (code !== 0) {
        const last = stderr.trim().split('\n').pop() ?? '';
        let msg = last;
        try {
          msg = (JSON.parse(last) as { msg?: string }).msg ?? last;
        } catch {
          /* not JSON: a crash */
        }
        throw (/redirect or metacopy/.test(msg) ? notImplemented : internal)(`diff: berth-diff failed: ${msg || `exit ${code}`}`);
      }
      const diffId = `sha256:${tarHash.digest('hex')}`;
      const digest = `sha256:${blobHash.digest('hex')}`;
      await w.commit(size, digest, { ...(o.labels ?? {}), [LABEL_UNCOMPRESSED]: diffId }).catch((e) => {
        if ((e as { kind?: string }).kind !== 'AlreadyExists') throw e;
      });
      return { desc: { mediaType, digest, size }, diffId };
    } catch (e) {
      child.kill('SIGKILL');
      await w.close().catch(() => undefined);
      throw e;
    }
  }
}
