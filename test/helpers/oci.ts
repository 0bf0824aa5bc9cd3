/**
 * OCI images built in code (no network, ever): an image layout directory, an OCI archive of it
 * (what `ctr images import` and `skopeo oci-archive:` take) and a `docker save` style archive.
 *
 * Naming: ctr 1.6's importer takes the image name from the index annotation `io.containerd.image.name`
 * first; only without it does it use `org.opencontainers.image.ref.name` (prefixed with
 * `import-<date>` unless --base-name is given). We set both: the full name for containerd, and the
 * ref name for skopeo's `oci:<dir>:<ref>` (by default the full name too, so one layout can hold many).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { writeLayer, type BuiltLayer, type LayerSpec, MEDIA_LAYER_GZIP } from './oci-layer';

export * from './oci-layer';

export const MEDIA_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = { gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip', tar: 'application/vnd.docker.image.rootfs.diff.tar' };

export interface ImageSpec {
  /** Full reference, e.g. `docker.io/library/busybox:latest`. */
  name: string;
  layers: LayerSpec[];
  config?: {
    Cmd?: string[];
    Entrypoint?: string[];
    Env?: string[];
    WorkingDir?: string;
    User?: string;
    Labels?: Record<string, string>;
    Volumes?: Record<string, object>;
  };
  architecture?: string; // default amd64
  os?: string; // default linux
  variant?: string; // e.g. 'v8' for arm64
  /** ref.name annotation in index.json; default: the full name. */
  refName?: string;
  created?: string; // default a fixed date, for reproducible digests
  /** 'docker': Docker schema 2 media types (what most registries serve) instead of OCI ones. */
  mediaTypes?: 'oci' | 'docker';
}

export interface BuiltImage {
  name: string;
  refName: string;
  layoutDir: string;
  /** What index.json points at: the manifest, or for multi-platform images the image index. */
  manifest: Descriptor;
  /** Of the first (or only) platform. */
  config: Descriptor;
  layers: BuiltLayer[];
  /** Parsed config JSON as written. */
  configJson: Record<string, unknown>;
  /** Multi-platform images only: one entry per platform manifest, in spec order. */
  platforms?: BuiltImage[];
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export function blobPath(layoutDir: string, digest: string): string {
  return join(layoutDir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
}

async function writeBlob(layoutDir: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(blobPath(layoutDir, digest), data);
  return digest;
}

/** Layers, config and manifest blobs of one platform; returns the manifest descriptor with its platform. */
async function writeManifest(layoutDir: string, spec: ImageSpec): Promise<BuiltImage> {
  await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  const docker = spec.mediaTypes === 'docker';
  const layers: BuiltLayer[] = [];
  for (const l of spec.layers) {
    if (docker && l.compression === 'zstd') throw new Error('Docker schema2 media types have no zstd layer: use OCI media types');
    const b = await writeLayer(layoutDir, l);
    layers.push(docker ? { ...b, mediaType: b.mediaType === MEDIA_LAYER_GZIP ? DOCKER_LAYER.gzip : DOCKER_LAYER.tar } : b);
  }
  const architecture = spec.architecture ?? 'amd64';
  const os = spec.os ?? 'linux';
  const created = spec.created ?? '2023-11-14T22:13:20Z';
  const configJson = {
    created,
    architecture,
    ...(spec.variant ? { variant: spec.variant } : {}),
    os,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...spec.config },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created, created_by: 'berth test/helpers/oci' })),
  };
  const configBuf = Buffer.from(JSON.stringify(configJson));
  const config: Descriptor = { mediaType: docker ? DOCKER_CONFIG : MEDIA_CONFIG, digest: await writeBlob(layoutDir, configBuf), size: configBuf.length };
  const mediaType = docker ? DOCKER_MANIFEST : MEDIA_MANIFEST;
  const manifestJson = { schemaVersion: 2, mediaType, config, layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })) };
  const manifestBuf = Buffer.from(JSON.stringify(manifestJson));
  const platform = { architecture, os, ...(spec.variant ? { variant: spec.variant } : {}) };
  const manifest: Descriptor = { mediaType, digest: await writeBlob(layoutDir, manifestBuf), size: manifestBuf.length, platform };
  return { name: spec.name, refName: spec.refName ?? spec.name, layoutDir, manifest, config, layers, configJson };
}

/** Points index.json's entry for `refName` at `desc` (replacing one with the same ref name). */
async function addToIndex(layoutDir: string, desc: Descriptor, name: string, refName: string): Promise<Descriptor> {
  const entry: Descriptor = { ...desc, annotations: { [ANNOTATION_CONTAINERD_NAME]: name, [ANNOTATION_REF_NAME]: refName } };
  const indexPath = join(layoutDir, 'index.json');
  const index: { schemaVersion: number; mediaType?: string; manifests: Descriptor[] } = existsSync(indexPath)
    ? JSON.parse(await readFile(indexPath, 'utf8'))
    : { schemaVersion: 2, mediaType: MEDIA_INDEX, manifests: [] };
  index.manifests = index.manifests.filter((m) => m.annotations?.[ANNOTATION_REF_NAME] !== refName);
  index.manifests.push(entry);
  await writeFile(indexPath, JSON.stringify(index));
  await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return entry;
}

/**
 * Builds one image into an OCI layout directory (created if missing). If the layout already holds
 * images, the new manifest is appended to index.json (replacing one with the same ref name).
 */
export async function writeOciImage(layoutDir: string, spec: ImageSpec): Promise<BuiltImage> {
  const img = await writeManifest(layoutDir, spec);
  img.manifest = await addToIndex(layoutDir, img.manifest, spec.name, img.refName);
  return img;
}

/**
 * A multi-platform image: one manifest per spec (set architecture/variant on each) under an image
 * index (a Docker manifest list when the first spec asks for docker media types), named `name`.
 * ctr pulls/imports only the host platform unless told --all-platforms.
 */
export async function writeMultiPlatformImage(layoutDir: string, name: string, specs: ImageSpec[], refName = name): Promise<BuiltImage> {
  const platforms: BuiltImage[] = [];
  for (const s of specs) platforms.push(await writeManifest(layoutDir, { ...s, name }));
  const mediaType = specs[0]?.mediaTypes === 'docker' ? DOCKER_MANIFEST_LIST : MEDIA_INDEX;
  const buf = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: platforms.map((p) => p.manifest) }));
  const desc: Descriptor = { mediaType, digest: await writeBlob(layoutDir, buf), size: buf.length };
  const manifest = await addToIndex(layoutDir, desc, name, refName);
  return { ...platforms[0], name, refName, manifest, platforms };
}

/** Streams files into a tar at `out` (regular files only; directories implied by paths). */
async function writeTar(out: string, files: { name: string; size: number; open: () => NodeJS.ReadableStream }[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(Readable.from(pack), createWriteStream(out));
  try {
    for (const f of files) {
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ name: f.name, size: f.size, mode: 0o644, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve()));
        const src = f.open();
        src.on('error', reject);
        src.pipe(sink);
      });
    }
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await done.catch(() => undefined); // the entry error is the one worth reporting
    throw e;
  }
  await done;
}

function bufFile(name: string, data: Buffer | string) {
  const b = Buffer.from(data);
  return { name, size: b.length, open: () => Readable.from([b]) };
}

/** An OCI archive (tar of the whole layout dir) — `ctr images import` / `skopeo oci-archive:`. */
export async function writeOciArchive(layoutDir: string, out: string): Promise<void> {
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const files = [bufFile('oci-layout', await readFile(join(layoutDir, 'oci-layout'))), bufFile('index.json', JSON.stringify(index))];
  // Only blobs reachable from the index, so a shared layout dir does not leak unrelated images.
  const seen = new Set<string>();
  const add = (d: Descriptor) => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    const p = blobPath(layoutDir, d.digest);
    files.push({ name: `blobs/sha256/${d.digest.slice(7)}`, size: d.size, open: () => createReadStream(p) });
  };
  const walk = async (d: Descriptor): Promise<void> => {
    add(d);
    const doc = JSON.parse(await readFile(blobPath(layoutDir, d.digest), 'utf8')) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    for (const m of doc.manifests ?? []) await walk(m);
    if (doc.config) add(doc.config);
    doc.layers?.forEach(add);
  };
  for (const m of index.manifests) await walk(m);
  await writeTar(out, files);
}

/** `docker.io/library/busybox:latest` → `busybox:latest` (what `docker save` puts in RepoTags). */
export function familiarName(name: string): string {
  return name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/**
 * A `docker save` style archive: manifest.json [{Config, RepoTags, Layers}], `<config-hex>.json`,
 * `<diffid-hex>/layer.tar` (uncompressed, gunzipped on the fly), plus the legacy `repositories` file.
 */
export async function writeDockerArchive(images: BuiltImage[], out: string): Promise<void> {
  const files: { name: string; size: number; open: () => NodeJS.ReadableStream }[] = [];
  const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const seen = new Set<string>();
  for (const img of images) {
    const cfgName = `${img.config.digest.slice(7)}.json`;
    if (!seen.has(cfgName)) {
      seen.add(cfgName);
      const p = blobPath(img.layoutDir, img.config.digest);
      files.push({ name: cfgName, size: img.config.size, open: () => createReadStream(p) });
    }
    const layerNames: string[] = [];
    for (const l of img.layers) {
      const name = `${l.diffId.slice(7)}/layer.tar`;
      layerNames.push(name);
      if (seen.has(name)) continue;
      seen.add(name);
      const p = blobPath(img.layoutDir, l.digest);
      const gz = l.mediaType.endsWith('gzip');
      files.push({ name, size: l.uncompressedSize, open: () => (gz ? createReadStream(p).pipe(createGunzip()) : createReadStream(p)) });
    }
    const tag = familiarName(img.name);
    manifest.push({ Config: cfgName, RepoTags: [tag], Layers: layerNames });
    const at = tag.lastIndexOf(':');
    (repositories[tag.slice(0, at)] ??= {})[tag.slice(at + 1)] = img.layers[img.layers.length - 1]?.diffId.slice(7) ?? '';
  }
  files.push(bufFile('manifest.json', JSON.stringify(manifest)), bufFile('repositories', JSON.stringify(repositories)));
  await writeTar(out, files);
}
