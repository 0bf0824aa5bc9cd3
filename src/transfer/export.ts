import type { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Ctx } from '../core/context';
import { invalidArgument, notImplemented } from '../core/errors';
import type { Descriptor, Platform } from '../core/types';
import { isNonDistributable, MEDIA_TYPE } from '../images/media-types';
import { normalizePlatform, hostPlatform } from '../images/platforms';
import { familiarName, parseReference } from '../remotes';
import { readBlob } from './content-io';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME } from './naming';
import { planImage, type PlannedManifest } from './plan';
import { TarWriter } from './tar-out';
import type { ProgressFn, TransferStores } from './types';

export interface ExportRequest {
  /** Images to put in the archive. */
  names: string[];
  /**
   * `oci`: an OCI image layout (oci-layout, index.json, blobs/) plus Docker's manifest.json, as
   * `ctr images export` writes it. `docker`: a classic `docker save` archive
   * (`<config>.json`, `<id>/layer.tar` uncompressed, manifest.json, repositories).
   */
  format?: 'oci' | 'docker';
  /** Platforms of an index to include (default the host's); an index itself is kept whole. */
  platforms?: Platform[];
  allPlatforms?: boolean;
  /** No Docker manifest.json in an OCI archive (containerd's skip_compatibility_manifest). */
  skipCompatibilityManifest?: boolean;
  /** Leave out non-distributable layers, such as Windows base layers (containerd's skip_non_distributable). */
  skipNonDistributable?: boolean;
  onProgress?: ProgressFn;
}

/** containerd's ociReferenceName: the OCI ref name is the tag (or digest) alone. */
function ociRefName(name: string): string {
  try {
    const r = parseReference(name, { defaultTag: false });
    return r.tag ?? r.digest ?? name;
  } catch {
    return name;
  }
}

/** `docker save`'s RepoTags entry: the familiar name, only for tagged references. */
function repoTag(name: string): string | undefined {
  try {
    const r = parseReference(name, { defaultTag: false });
    return r.tag ? familiarName({ domain: r.domain, path: r.path, tag: r.tag }) : undefined;
  } catch {
    return undefined;
  }
}

const hex = (d: string) => d.slice(d.indexOf(':') + 1);
const blobName = (d: string) => `blobs/${d.replace(':', '/')}`;

async function sniff(ctx: Ctx, stores: TransferStores, d: Descriptor): Promise<'gzip' | 'zstd' | 'none'> {
  for await (const c of stores.content.read(ctx, d.digest, { size: 4 })) {
    if (c[0] === 0x1f && c[1] === 0x8b) return 'gzip';
    if (c.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  }
  return 'none';
}

/** A layer's uncompressed bytes; gzip is inflated here (zstd: NotImplemented on Node 20). */
async function* uncompressed(ctx: Ctx, stores: TransferStores, d: Descriptor, kind: 'gzip' | 'zstd' | 'none'): AsyncGenerator<Buffer> {
  if (kind === 'zstd') throw notImplemented(`layer ${d.digest}: exporting a zstd layer uncompressed (docker format) is not supported; export as oci`);
  const src = stores.content.read(ctx, d.digest);
  if (kind === 'none') return yield* src;
  const gunzip = createGunzip();
  const feed = (async () => {
    try {
      for await (const c of src) if (!gunzip.write(c)) await new Promise((r) => gunzip.once('drain', r));
      gunzip.end();
    } catch (e) {
      gunzip.destroy(e as Error);
    }
  })();
  yield* gunzip as AsyncIterable<Buffer>;
  await feed;
}

async function countBytes(it: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

/**
 * Writes the named images as one tar archive to `out`, streaming every blob from the content
 * store. Only the selected platforms' content is needed (and written) below an index.
 */
export async function exportImages(ctx: Ctx, stores: TransferStores, req: ExportRequest, out: Writable): Promise<void> {
  if (!req.names.length) throw invalidArgument('export: no image names given');
  const format = req.format ?? 'oci';
  const choice = { all: req.allPlatforms, platforms: req.platforms?.length ? req.platforms.map(normalizePlatform) : [hostPlatform()] };
  const images = [];
  for (const name of req.names) {
    const img = await stores.images.get(ctx, name);
    images.push({ name, img, plan: await planImage(img.target, (d) => readBlob(ctx, stores.content, d, 'manifest'), choice, `export ${name}`) });
  }
  const tar = new TarWriter(out);
  try {
    const written = new Set<string>();
    const blob = async (d: Descriptor, data?: Buffer) => {
      if (written.has(d.digest)) return;
      written.add(d.digest);
      req.onProgress?.({ event: 'exporting', name: d.digest, desc: d, total: d.size });
      await tar.add(blobName(d.digest), d.size, data ?? stores.content.read(ctx, d.digest));
    };
    const dockerManifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
    const repositories: Record<string, Record<string, string>> = {};
    const manifestEntry = async (name: string, m: PlannedManifest, layerPaths: string[], configPath: string) => {
      const tag = repoTag(name);
      const existing = dockerManifest.find((e) => e.Config === configPath && e.Layers.join() === layerPaths.join());
      if (existing) {
        if (tag && !existing.RepoTags.includes(tag)) existing.RepoTags.push(tag);
      } else dockerManifest.push({ Config: configPath, RepoTags: tag ? [tag] : [], Layers: layerPaths });
      if (tag && format === 'docker') {
        const at = tag.lastIndexOf(':');
        (repositories[tag.slice(0, at)] ??= {})[tag.slice(at + 1)] = layerPaths.length
          ? layerPaths[layerPaths.length - 1]!.split('/')[0]!
          : hex(m.config.digest);
      }
    };
    if (format === 'oci') {
      const layout = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      await tar.add('oci-layout', layout.length, layout);
      for (const { name, plan } of images) {
        for (const doc of plan.docs) await blob(doc.desc, doc.data);
        for (const m of plan.manifests) {
          for (const b of [m.config, ...m.layers]) if (!(req.skipNonDistributable && isNonDistributable(b.mediaType))) await blob(b);
          if (plan.root.digest === m.desc.digest || plan.manifests.length === 1)
            await manifestEntry(
              name,
              m,
              m.layers.map((l) => blobName(l.digest)),
              blobName(m.config.digest),
            );
        }
      }
      const index = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.ociIndex,
        manifests: images.map(({ name, img }) => ({
          ...img.target,
          annotations: { ...img.target.annotations, [ANNOTATION_IMAGE_NAME]: name, [ANNOTATION_REF_NAME]: ociRefName(name) },
        })),
      };
      const indexBuf = Buffer.from(JSON.stringify(index));
      await tar.add('index.json', indexBuf.length, indexBuf);
    } else {
      for (const { name, plan } of images) {
        if (plan.manifests.length !== 1)
          throw invalidArgument(`export ${name}: a docker archive holds one platform per image; ${plan.manifests.length} selected (name one platform)`);
        const m = plan.manifests[0]!;
        const configPath = `${hex(m.config.digest)}.json`;
        if (!written.has(configPath)) {
          written.add(configPath);
          await tar.add(configPath, m.config.size, stores.content.read(ctx, m.config.digest));
        }
        const layerPaths: string[] = [];
        for (const l of m.layers) {
          const path = `${hex(l.digest)}/layer.tar`;
          layerPaths.push(path);
          if (written.has(path)) continue;
          written.add(path);
          const kind = await sniff(ctx, stores, l);
          // A tar header needs the size first: count the inflated bytes, then stream them.
          const size = kind === 'none' ? l.size : await countBytes(uncompressed(ctx, stores, l, kind));
          req.onProgress?.({ event: 'exporting', name: l.digest, desc: l, total: size });
          await tar.add(path, size, uncompressed(ctx, stores, l, kind));
        }
        await manifestEntry(name, m, layerPaths, configPath);
      }
      const repos = Buffer.from(JSON.stringify(repositories));
      await tar.add('repositories', repos.length, repos);
    }
    if (format === 'docker' || !req.skipCompatibilityManifest) {
      const mj = Buffer.from(JSON.stringify(dockerManifest));
      await tar.add('manifest.json', mj.length, mj);
    }
    await tar.finish();
  } catch (e) {
    tar.abort(e as Error);
    throw e;
  }
}
