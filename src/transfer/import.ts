import type { Ctx } from '../core/context';
import { sha256Of } from '../core/digest';
import { invalidArgument, notFound } from '../core/errors';
import type { Descriptor, Labels, Platform } from '../core/types';
import type { Image } from '../images/types';
import { childGcLabels, parseConfig, parseIndex } from '../images/manifest';
import { isIndexType, isManifestType, MEDIA_TYPE } from '../images/media-types';
import { hostPlatform, normalizePlatform, onlyPlatform } from '../images/platforms';
import { formatReference, parseReference } from '../remotes';
import { decompressed, readArchive, type ArchiveBlob, type ArchiveContents } from './archive-in';
import { infoOf, readBlob, setLabels, writeBlob } from './content-io';
import { operationLease } from './lease';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, imageNames, type ImageDestination } from './naming';
import { planImage } from './plan';
import type { UnpackRequest } from './pull';
import { saveImage } from './save';
import type { ProgressFn, TransferStores } from './types';
import { unpackImage } from './unpack';

export interface ImportRequest {
  /** Name for an image the archive does not name. */
  name?: string;
  /** For OCI entries named only by a tag (`org.opencontainers.image.ref.name: 1.0`): `<baseName>:<tag>` (ctr's --base-name). */
  baseName?: string;
  /** Platforms to unpack and require content for (default the host's). */
  platforms?: Platform[];
  allPlatforms?: boolean;
  unpack?: boolean;
  snapshotter?: string;
  /** Several unpacks (containerd's ImageStore.unpacks); when given, `unpack` and `snapshotter` are not used. */
  unpacks?: UnpackRequest[];
  labels?: Labels;
  /**
   * containerd's transfer naming instead of berth's (naming.ts): each archive entry is named
   * through the prefix references, the archive's index as a whole under `name` (and the prefix
   * references that add a digest). `name`, `baseName` and `labels` above are then not used.
   */
  destination?: ImageDestination;
  onProgress?: ProgressFn;
}

function canonical(name: string): string | undefined {
  try {
    return formatReference(parseReference(name));
  } catch {
    return undefined;
  }
}

/** containerd's import naming: the image-name annotation, else the ref name (a full reference, or a tag under --base-name). */
function nameFor(entry: Descriptor, req: ImportRequest): string | undefined {
  const full = entry.annotations?.[ANNOTATION_IMAGE_NAME];
  if (full) return full;
  const ref = entry.annotations?.[ANNOTATION_REF_NAME];
  if (ref) {
    if (req.baseName) return `${req.baseName}:${ref}`;
    if (/[/:@]/.test(ref)) return canonical(ref) ?? ref;
  }
  return req.name;
}

function layerMediaType(b: ArchiveBlob): string {
  if (b.magic[0] === 0x1f && b.magic[1] === 0x8b) return MEDIA_TYPE.dockerLayerGzip;
  if (b.magic.length >= 4 && b.magic.readUInt32LE(0) === 0xfd2fb528) return MEDIA_TYPE.ociLayerZstd;
  return MEDIA_TYPE.dockerLayer;
}

/** Docker's manifest.json entries become Docker schema 2 manifests in the content store (as containerd's importer). */
async function dockerImages(ctx: Ctx, stores: TransferStores, a: ArchiveContents, req: ImportRequest): Promise<Array<{ name: string; target: Descriptor }>>;
async function dockerImages(
  ctx: Ctx,
  stores: TransferStores,
  a: ArchiveContents,
  req: ImportRequest,
  unnamed: true,
): Promise<Array<{ name?: string; target: Descriptor }>>;
async function dockerImages(
  ctx: Ctx,
  stores: TransferStores,
  a: ArchiveContents,
  req: ImportRequest,
  unnamed = false,
): Promise<Array<{ name?: string; target: Descriptor }>> {
  let entries: Array<{ Config?: unknown; RepoTags?: unknown; Layers?: unknown }>;
  try {
    entries = JSON.parse(a.manifestJson!.toString('utf8'));
    if (!Array.isArray(entries)) throw new Error('not an array');
  } catch (e) {
    throw invalidArgument(`archive manifest.json: ${(e as Error).message}`);
  }
  const out: Array<{ name?: string; target: Descriptor }> = [];
  for (const [i, e] of entries.entries()) {
    const blob = (p: unknown, what: string) => {
      const b = typeof p === 'string' ? a.blobs.get(p.replace(/^(\.\/)+/, '')) : undefined;
      if (!b) throw notFound(`archive manifest.json[${i}]: ${what} ${JSON.stringify(p)} is not in the archive`);
      return b;
    };
    const config = blob(e.Config, 'config');
    const layers = (Array.isArray(e.Layers) ? e.Layers : []).map((l) => ({ ...blob(l, 'layer'), path: l }));
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.dockerManifest,
      config: { mediaType: MEDIA_TYPE.dockerConfig, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: layerMediaType(l), digest: l.digest, size: l.size })),
    };
    const data = Buffer.from(JSON.stringify(manifest));
    const target: Descriptor = { mediaType: MEDIA_TYPE.dockerManifest, digest: sha256Of(data), size: data.length };
    await writeBlob(ctx, stores.content, `import-${target.digest}`, target, data);
    const tags = (Array.isArray(e.RepoTags) ? e.RepoTags : []).filter((t): t is string => typeof t === 'string');
    const names = tags.map((t) => canonical(t) ?? t);
    if (!names.length && req.name) names.push(req.name);
    for (const name of names) out.push({ name, target });
    if (!names.length && unnamed) out.push({ target });
  }
  return out;
}

/** The archive's index entries: OCI's index.json as it is, docker's manifest.json one per tag (containerd's ImportIndex). */
function ociEntries(a: ArchiveContents): Descriptor[] {
  const idx = parseIndex('archive index.json', a.indexJson!);
  return idx.manifests
    .filter((m) => isIndexType(m.mediaType) || isManifestType(m.mediaType))
    .map((m) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size, ...(m.annotations ? { annotations: m.annotations } : {}) }));
}

interface Found {
  name: string;
  target: Descriptor;
  labels: Labels;
  /** The index made of the archive's entries (containerd's import index): its images are checked and unpacked one by one. */
  archiveIndex?: boolean;
}

function ociImages(a: ArchiveContents, req: ImportRequest): Found[] {
  const out: Found[] = [];
  for (const m of ociEntries(a)) {
    const name = nameFor(m, req);
    if (name) out.push({ name, target: m, labels: req.labels ?? {} });
  }
  return out;
}

/** containerd's naming (naming.ts): every entry through the prefix references, the index itself by name. */
async function destinationImages(ctx: Ctx, stores: TransferStores, a: ArchiveContents, dest: ImageDestination): Promise<Found[]> {
  let entries: Descriptor[];
  if (a.indexJson) entries = ociEntries(a);
  else {
    entries = [];
    for (const e of await dockerImages(ctx, stores, a, {}, true)) {
      const tagged = e.name && canonical(e.name);
      entries.push(tagged ? { ...e.target, annotations: { [ANNOTATION_IMAGE_NAME]: tagged, [ANNOTATION_REF_NAME]: tagOf(tagged) } } : e.target);
    }
  }
  const out: Found[] = [];
  for (const e of entries) for (const n of imageNames(dest, e, true)) out.push({ name: n.name, target: e, labels: n.labels });
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: entries }));
  const indexDesc: Descriptor = { mediaType: MEDIA_TYPE.ociIndex, digest: sha256Of(index), size: index.length };
  const named = imageNames(dest, indexDesc, false);
  if (named.length) {
    await writeBlob(ctx, stores.content, `import-${indexDesc.digest}`, indexDesc, index, childGcLabels(entries));
    for (const n of named) out.push({ name: n.name, target: indexDesc, labels: n.labels, archiveIndex: true });
  }
  return out;
}

/** The tag (or digest) of a full reference, as containerd's ociReferenceName. */
function tagOf(ref: string): string {
  const r = parseReference(ref, { defaultTag: false });
  return r.tag ?? r.digest ?? ref;
}

/**
 * import = the archive streamed into the content store under a lease → images named from its
 * index (OCI: `io.containerd.image.name`, else the ref name) or its manifest.json (RepoTags), or
 * by containerd's naming (`destination`) → gc labels on the documents → unpack of the host
 * platform (or those requested) → image records. Everything the images reference must be in the
 * archive for the selected platforms. A gzip-compressed archive is read through gunzip.
 */
export async function importImages(ctx: Ctx, stores: TransferStores, input: AsyncIterable<Buffer>, req: ImportRequest = {}): Promise<Image[]> {
  const lease = await operationLease(ctx, stores, `import\0${ctx.ns}\0${Date.now()}\0${Math.random()}`);
  const lctx: Ctx = { ...ctx, lease: lease.id };
  try {
    const a = await readArchive(lctx, stores.content, decompressed(input), (path, size) => req.onProgress?.({ event: 'importing', name: path, total: size }));
    let found: Found[];
    if (!a.indexJson && !a.manifestJson) throw invalidArgument('import: the archive has neither index.json (OCI layout) nor manifest.json (docker save)');
    if (req.destination) found = await destinationImages(lctx, stores, a, req.destination);
    else if (a.indexJson) found = ociImages(a, req);
    else found = (await dockerImages(lctx, stores, a, req)).map((e) => ({ ...e, labels: req.labels ?? {} }));
    if (!found.length) throw invalidArgument('import: the archive names no image (give a name for unnamed images)');

    const platforms = req.platforms?.length ? req.platforms.map(normalizePlatform) : [hostPlatform()];
    const unpacks = req.unpacks ?? (req.unpack === false ? [] : [{ platform: platforms[0], snapshotter: req.snapshotter }]);
    const saved: Image[] = [];
    const unpacked = new Set<string>();
    for (const { name, target, labels, archiveIndex } of found) {
      if (!archiveIndex) {
        const plan = await planImage(target, (d) => readBlob(lctx, stores.content, d, 'manifest'), { all: req.allPlatforms, platforms }, `import ${name}`);
        for (const doc of plan.docs) await setLabels(lctx, stores.content, doc.desc.digest, doc.gcLabels);
        for (const m of plan.manifests) {
          for (const b of [m.config, ...m.layers])
            if (!(await infoOf(lctx, stores.content, b.digest))) throw notFound(`import ${name}: blob ${b.digest} is not in the archive`);
        }
        for (const u of unpacks) {
          const snapshotter = u.snapshotter || (await stores.defaultSnapshotter(lctx));
          const key = `${target.digest}\0${snapshotter}\0${JSON.stringify(u.platform ?? null)}`;
          if (unpacked.has(key)) continue;
          unpacked.add(key);
          const want = onlyPlatform(normalizePlatform(u.platform ?? platforms[0]!));
          for (const m of plan.manifests) {
            const config = parseConfig(`image config ${m.config.digest}`, await readBlob(lctx, stores.content, m.config, 'image config'));
            if (!want.match(normalizePlatform(config.platform))) continue; // containerd: fetch only, no unpack
            await unpackImage(lctx, stores, { config: m.config, image: config, layers: m.layers, snapshotter, lease: lease.id }, req.onProgress);
            break;
          }
        }
      }
      saved.push(await saveImage(lctx, stores, { name, target, labels }));
      req.onProgress?.({ event: 'saved', name, desc: target });
    }
    return saved;
  } finally {
    // Nothing to resume from a stream: what no image references is GC's once the lease is gone.
    await lease.release();
  }
}
