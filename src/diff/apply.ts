import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { Transform } from 'node:stream';
import type { Ctx } from '../core/context';
import { parseDigest, type Digest } from '../core/digest';
import { failedPrecondition, notImplemented } from '../core/errors';
import type { Descriptor, Mount } from '../core/types';
import type { Provider } from '../content/types';
import { targetForMounts } from './mounts';
import type { LayerStager } from './staging';
import { unpackTar, type UnpackOptions, type UnpackResult, type UnpackTarget } from './unpack';

export const MEDIA_TYPE_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

/** Layer media types berth applies (the compression is sniffed from the bytes, as containerd does). */
const LAYER_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

export interface ApplierOptions extends Pick<UnpackOptions, 'bin' | 'minFree'> {
  /** Where berth-unpack creates temporary mount points (mount mode). */
  tmpdir: string;
  /**
   * The blob's file in the local content store, for berth-unpack to read itself (`--input`);
   * undefined (or absent) streams it through Node from the Provider.
   */
  blobFile?: (digest: Digest) => string | undefined;
  /** Pre-extracted layers (staging.ts), adopted when exact. */
  stager?: LayerStager;
}

/** What Diff.Apply did: the applied layer as an uncompressed tar descriptor. */
export interface Applied extends Descriptor {
  entries: number;
}

/** Checks the compressed bytes against the descriptor as they stream (FailedPrecondition). */
export function digestVerifier(desc: Descriptor): Transform {
  const { algorithm } = parseDigest(desc.digest);
  const h = createHash(algorithm);
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      const got = `${algorithm}:${h.digest('hex')}`;
      if (got !== desc.digest) cb(failedPrecondition(`layer ${desc.digest}: content digest mismatch (read ${got})`));
      else if (desc.size > 0 && n !== desc.size) cb(failedPrecondition(`layer ${desc.digest}: size mismatch: read ${n}, descriptor says ${desc.size}`));
      else cb();
    },
  });
}

/**
 * containerd's walking applier: streams the blob from the content store into berth-unpack,
 * which inflates gzip and hashes the blob and the tar (native/unpack/codec.h) on a thread beside the
 * one creating files; returns the uncompressed descriptor ctr compares with the diff_id.
 *
 * A blob read from the content store's own file is not hashed again (only its size is checked):
 * the store verified its digest at commit and keeps it read-only under berth's root, and
 * containerd's applier does not re-verify either; that saves a SHA-256 pass (~0.1 CPU-s per
 * 100 MB). A blob streamed from a Provider is verified (FailedPrecondition on a mismatch).
 */
export class LayerApplier {
  constructor(
    private readonly content: Provider,
    private readonly opts: ApplierOptions,
  ) {}

  async apply(ctx: Ctx, desc: Descriptor, mounts: readonly Mount[]): Promise<Applied> {
    const t0 = process.hrtime.bigint();
    if (!LAYER_MEDIA_TYPES.has(desc.mediaType)) throw notImplemented(`layer ${desc.digest}: media type ${JSON.stringify(desc.mediaType)} is not supported`);
    const sha256 = parseDigest(desc.digest).algorithm === 'sha256';
    const target = targetForMounts(mounts, this.opts.tmpdir);
    if (target.kind === 'mount') await mkdir(this.opts.tmpdir, { recursive: true, mode: 0o700 });

    let how = 'streamed';
    let r: UnpackResult;
    const file = sha256 ? this.opts.blobFile?.(desc.digest) : undefined;
    if (file !== undefined) {
      await this.content.info(ctx, desc.digest); // the blob must be visible in this namespace
      const staged = await this.opts.stager?.adopt(ctx, desc.digest, target);
      how = staged ? 'staged' : 'file';
      r =
        staged ??
        (await unpackTar({ file }, target, {
          bin: this.opts.bin,
          minFree: this.opts.minFree,
          signal: ctx.signal,
          expect: { digest: desc.digest, size: desc.size },
          verifiedInput: true,
        }));
    } else {
      r = await this.applyStream(ctx, desc, target, sha256);
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    ctx.log.debug('layer applied', { digest: desc.digest, how, ms: Math.round(ms), format: r.format, size: r.size, entries: r.entries });
    return { mediaType: MEDIA_TYPE_LAYER_TAR, digest: r.digest, size: r.size, entries: r.entries };
  }

  /**
   * The blob through Node from the Provider (no local file, or a non-sha256 digest). berth-unpack
   * sniffs the compression itself.
   */
  private async applyStream(ctx: Ctx, desc: Descriptor, target: UnpackTarget, sha256: boolean): Promise<UnpackResult> {
    // berth-unpack hashes with sha256 only; another algorithm is verified on the way in Node.
    return unpackTar(this.content.read(ctx, desc.digest), target, {
      bin: this.opts.bin,
      minFree: this.opts.minFree,
      signal: ctx.signal,
      stages: sha256 ? [] : [digestVerifier(desc)],
      ...(sha256 ? { expect: { digest: desc.digest, size: desc.size } } : {}),
    });
  }
}
