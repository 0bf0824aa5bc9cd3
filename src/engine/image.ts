/**
 * Images as the engine uses them: Docker's short references (`busybox` →
 * `docker.io/library/busybox:latest`), image ids (config digests, also by prefix), the manifest
 * for this host's platform, and the image config (Docker's `config` object and rootfs diff_ids).
 */
import { arch } from 'node:os';
import type { ContentStore } from '../content/types';
import type { Ctx } from '../core/context';
import { sha256Of } from '../core/digest';
import { internal, invalidArgument, isNotFound, notFound, notImplemented } from '../core/errors';
import type { Descriptor } from '../core/types';
import type { Image, ImageStore } from '../images';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** The image config's `config` object (Docker's ContainerConfig fields images carry). */
export interface ImageRunConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, unknown>;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
}

export interface ImageConfigJson {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ImageRunConfig;
  rootfs: { type: string; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; comment?: string; author?: string; empty_layer?: boolean }>;
}

export interface ManifestJson {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ResolvedImage {
  /** The image record (its name is what containers record as their image). */
  record: Image;
  manifest: ManifestJson;
  manifestDesc: Descriptor;
  config: ImageConfigJson;
  configDesc: Descriptor;
  /** Image id: the config digest. */
  id: string;
  chainIds: string[];
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
export const hostPlatform = { os: 'linux', architecture: ARCH[arch()] ?? arch() };

/** Docker's reference normalization: domain docker.io, `library/` for official images, tag `latest`. */
export function normalizeReference(ref: string): string {
  if (!ref || /\s/.test(ref) || ref.length > 512) throw invalidArgument(`invalid reference format: ${JSON.stringify(ref)}`);
  const [namePart, digest] = ref.split('@', 2) as [string, string | undefined];
  let name = namePart;
  let tag: string | undefined;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  const first = name.split('/')[0]!;
  const hasDomain = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasDomain) name = `docker.io/${name.includes('/') ? name : `library/${name}`}`;
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(name.split('/').slice(1).join('/'))) {
    throw invalidArgument(`invalid reference format: repository name must be lowercase: ${JSON.stringify(ref)}`);
  }
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) throw invalidArgument(`invalid reference format: bad tag in ${JSON.stringify(ref)}`);
  if (digest !== undefined) return `${name}${tag ? `:${tag}` : ''}@${digest}`;
  return `${name}:${tag ?? 'latest'}`;
}

/** The short form Docker shows: `busybox:latest`, `me/app:1`, `registry:5000/x:y`. */
export function familiarName(name: string): string {
  return name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256Of(`${out[out.length - 1]} ${d}`));
  return out;
}

export class ImageResolver {
  constructor(
    private readonly images: ImageStore,
    private readonly content: ContentStore,
  ) {}

  async readJson<T>(ctx: Ctx, desc: Pick<Descriptor, 'digest'>, what: string): Promise<T> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of this.content.read(ctx, desc.digest)) {
      n += c.length;
      if (n > 8 << 20) throw invalidArgument(`${what} ${desc.digest}: larger than 8 MiB`);
      chunks.push(c);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
    } catch (e) {
      throw internal(`${what} ${desc.digest}: not JSON`, { cause: e });
    }
  }

  /** The image record a reference (or image id, or id prefix) names. NotFound: `No such image`. */
  async record(ctx: Ctx, ref: string): Promise<Image> {
    const tryGet = async (name: string) => this.images.get(ctx, name).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    const exact = await tryGet(ref);
    if (exact) return exact;
    let normalized: string | undefined;
    try {
      normalized = normalizeReference(ref);
    } catch {
      /* maybe an id */
    }
    const named = normalized ? await tryGet(normalized) : undefined;
    if (named) return named;
    const hex = ref.replace(/^sha256:/, '');
    if (/^[0-9a-f]{4,64}$/.test(hex)) {
      const hits: Image[] = [];
      for (const img of await this.images.list(ctx)) {
        const id = await this.configDigest(ctx, img).catch(() => undefined);
        if (id?.startsWith(`sha256:${hex}`)) hits.push(img);
      }
      const ids = new Set(await Promise.all(hits.map((i) => this.configDigest(ctx, i))));
      if (ids.size > 1) throw invalidArgument(`multiple images found with provided prefix: ${ref}`);
      if (hits[0]) return hits[0];
    }
    throw notFound(`No such image: ${ref}`);
  }

  private async configDigest(ctx: Ctx, img: Image): Promise<string> {
    return (await this.manifestOf(ctx, img.target)).manifest.config.digest;
  }

  /** The manifest for this host's platform (an index is walked, one level of nesting). */
  async manifestOf(ctx: Ctx, target: Descriptor): Promise<{ manifest: ManifestJson; desc: Descriptor }> {
    let desc = target;
    for (let depth = 0; depth < 3; depth++) {
      if (desc.mediaType === MEDIA.ociManifest || desc.mediaType === MEDIA.dockerManifest) {
        return { manifest: await this.readJson<ManifestJson>(ctx, desc, 'manifest'), desc };
      }
      if (desc.mediaType !== MEDIA.ociIndex && desc.mediaType !== MEDIA.dockerList) {
        throw notImplemented(`image target ${desc.digest}: media type ${JSON.stringify(desc.mediaType)} is not supported`);
      }
      const index = await this.readJson<{ manifests?: Array<Descriptor & { platform?: { os: string; architecture: string } }> }>(ctx, desc, 'index');
      const pick = (index.manifests ?? []).find(
        (m) => !m.platform || (m.platform.os === hostPlatform.os && m.platform.architecture === hostPlatform.architecture),
      );
      if (!pick) throw notFound(`image index ${desc.digest}: no manifest for ${hostPlatform.os}/${hostPlatform.architecture}`);
      desc = pick;
    }
    throw invalidArgument(`image target ${target.digest}: indexes nested too deep`);
  }

  async resolve(ctx: Ctx, ref: string): Promise<ResolvedImage> {
    const record = await this.record(ctx, ref);
    const { manifest, desc } = await this.manifestOf(ctx, record.target);
    const config = await this.readJson<ImageConfigJson>(ctx, manifest.config, 'image config');
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length)
      throw invalidArgument(`image ${record.name}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids`);
    return { record, manifest, manifestDesc: desc, config, configDesc: manifest.config, id: manifest.config.digest, chainIds: chainIds(diffIds) };
  }
}
