/**
 * `import` (a filesystem tarball becomes a single-layer image, as Docker's) and `history`.
 * The tarball is stored as it came (plain tar or gzip: both are OCI layer types), hashed on the
 * way for its blob digest and, through an inflater, for its diff_id.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import type { Ctx } from '../../core/context';
import type { Digest } from '../../core/digest';
import { invalidArgument, isAlreadyExists, notImplemented } from '../../core/errors';
import type { Descriptor } from '../../core/types';
import { compressionOf } from '../../rootfs';
import { writeImage } from '../commit';
import type { EngineDeps } from '../deps';
import { historyRows, type HistoryRow } from '../history';
import { familiarName, hostPlatform, ImageResolver, MEDIA, type ImageConfigJson } from '../image';
import { withLease } from '../lease';
import { applyChanges } from './dockerfile-changes';
import type { ImportOptions } from './types';

const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

/** `os/arch[/variant]`. */
function platformOf(p: string | undefined): { os: string; architecture: string; variant?: string } {
  if (!p) return { ...hostPlatform };
  const [os, architecture, variant] = p.split('/');
  if (!os || !architecture) throw invalidArgument(`invalid platform ${JSON.stringify(p)}: want os/arch[/variant]`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** Streams the tarball into a content writer; returns the layer descriptor and its diff_id. */
async function storeLayer(d: EngineDeps, ctx: Ctx, tar: AsyncIterable<Buffer>): Promise<{ desc: Descriptor; diffId: string }> {
  const w = await d.content.writer(ctx, { ref: `import-${randomBytes(8).toString('hex')}` });
  const blob = createHash('sha256');
  const diff = createHash('sha256');
  let size = 0;
  let kind: ReturnType<typeof compressionOf> | undefined;
  let head = Buffer.alloc(0);
  const gunzip = createGunzip();
  const inflated = new Promise<void>((resolve, reject) => {
    gunzip.on('data', (c: Buffer) => {
      diff.update(c);
      if (head.length < 512) head = Buffer.concat([head, c]);
    });
    gunzip.once('end', resolve);
    gunzip.once('error', (e) => reject(invalidArgument(`import: bad gzip: ${e.message}`)));
  });
  try {
    for await (const chunk of tar) {
      if (kind === undefined) {
        kind = compressionOf(chunk);
        if (kind !== 'gzip' && kind !== 'none') throw notImplemented(`import: ${kind} is not supported (send a plain or gzip tar)`);
      }
      blob.update(chunk);
      size += chunk.length;
      if (kind === 'gzip') gunzip.write(chunk);
      else {
        diff.update(chunk);
        if (head.length < 512) head = Buffer.concat([head, chunk]);
      }
      await w.write(chunk);
    }
    if (kind === 'gzip') {
      gunzip.end();
      await inflated;
    }
    // A tar starts with a header whose magic says so (ustar, or GNU's "ustar  ").
    if (head.length < 512 || head.toString('latin1', 257, 262) !== 'ustar')
      throw invalidArgument('import: not a tar archive (archive/tar: invalid tar header)');
    const digest = `sha256:${blob.digest('hex')}`;
    await w.commit(size, digest as Digest).catch((e) => (isAlreadyExists(e) ? undefined : Promise.reject(e)));
    return { desc: { mediaType: kind === 'gzip' ? MEDIA.ociLayerGzip : OCI_LAYER_TAR, digest, size }, diffId: `sha256:${diff.digest('hex')}` };
  } catch (e) {
    gunzip.destroy();
    await w.close().catch(() => undefined);
    throw e;
  }
}

export async function importImage(d: EngineDeps, ctx: Ctx, tar: AsyncIterable<Buffer>, o: ImportOptions = {}): Promise<{ imageId: string; name: string }> {
  const platform = platformOf(o.platform);
  const runConfig = applyChanges({}, o.changes ?? []); // its errors before any byte is stored
  return withLease(d.leases, ctx, 'import', async (lctx) => {
    const layer = await storeLayer(d, lctx, tar);
    const now = new Date().toISOString();
    const config: ImageConfigJson = {
      created: now,
      ...platform,
      config: runConfig,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created: now, comment: o.message || 'Imported from -' }],
    };
    return writeImage(d, lctx, { config, layers: [layer.desc], docker: false, ...(o.reference ? { reference: o.reference } : {}) });
  });
}

export async function imageHistory(d: EngineDeps, ctx: Ctx, ref: string): Promise<HistoryRow[]> {
  const img = await new ImageResolver(d.images, d.content).resolve(ctx, ref);
  const sn = d.snapshotters.get(d.snapshotter);
  // A layer's size is its unpacked size when it is unpacked (the snapshot of its chain), else its blob's.
  const sizes = await Promise.all(
    img.chainIds.map((chain, i) => (sn ? sn.usage(ctx, chain).then((u) => u.size) : Promise.reject(new Error())).catch(() => img.manifest.layers[i]!.size)),
  );
  const tags = img.record.name.startsWith('sha256:') ? [] : [familiarName(img.record.name)];
  return historyRows(img.config.history ?? [], img.id, sizes, tags);
}
