import { z } from 'zod';
import { validateDigest } from '../core/digest';
import { invalidArgument, notImplemented } from '../core/errors';
import type { Descriptor, Platform } from '../core/types';
import { isConfigType, isIndexType, isLayerType, isManifestType, isSchema1Type, MEDIA_TYPE } from './media-types';

/**
 * Image index / manifest / config documents as they arrive from a registry or an archive: parsed
 * with zod (they are untrusted input), with only the fields berth uses checked.
 */
const DescriptorSchema = z
  .object({
    mediaType: z.string().default(''),
    digest: z.string().refine((d) => {
      try {
        validateDigest(d);
        return true;
      } catch {
        return false;
      }
    }, 'invalid digest'),
    size: z.number().int().nonnegative(),
    annotations: z.record(z.string(), z.string()).optional(),
    urls: z.array(z.string()).optional(),
    platform: z
      .object({
        architecture: z.string(),
        os: z.string(),
        variant: z.string().optional(),
        'os.version': z.string().optional(),
        'os.features': z.array(z.string()).optional(),
      })
      .optional(),
  })
  .passthrough();

export type PlatformDescriptor = Descriptor & { platform?: Platform; urls?: string[] };

const IndexSchema = z.object({ schemaVersion: z.number().optional(), mediaType: z.string().optional(), manifests: z.array(DescriptorSchema) }).passthrough();
const ManifestSchema = z
  .object({ schemaVersion: z.number().optional(), mediaType: z.string().optional(), config: DescriptorSchema, layers: z.array(DescriptorSchema) })
  .passthrough();
const ConfigSchema = z
  .object({
    architecture: z.string().default(''),
    os: z.string().default(''),
    variant: z.string().optional(),
    rootfs: z.object({ type: z.string().optional(), diff_ids: z.array(z.string()) }),
  })
  .passthrough();

export interface ImageIndex {
  mediaType: string;
  manifests: PlatformDescriptor[];
}
export interface ImageManifest {
  mediaType: string;
  config: Descriptor;
  layers: PlatformDescriptor[];
}
export interface ImageConfig {
  platform: Platform;
  diffIds: string[];
}

function toDescriptor(d: z.infer<typeof DescriptorSchema>): PlatformDescriptor {
  const out: PlatformDescriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations) out.annotations = d.annotations;
  if (d.urls) out.urls = d.urls;
  if (d.platform) out.platform = { os: d.platform.os, architecture: d.platform.architecture, ...(d.platform.variant ? { variant: d.platform.variant } : {}) };
  return out;
}

function parseJson(what: string, data: Buffer): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw invalidArgument(`${what}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

function check<T>(what: string, schema: z.ZodType<T>, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) throw invalidArgument(`${what}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export function parseIndex(what: string, data: Buffer, mediaType = MEDIA_TYPE.ociIndex as string): ImageIndex {
  const j = check(what, IndexSchema, parseJson(what, data));
  return { mediaType: j.mediaType ?? mediaType, manifests: j.manifests.map(toDescriptor) };
}

export function parseManifest(what: string, data: Buffer, mediaType = MEDIA_TYPE.ociManifest as string): ImageManifest {
  const j = check(what, ManifestSchema, parseJson(what, data));
  return { mediaType: j.mediaType ?? mediaType, config: toDescriptor(j.config), layers: j.layers.map(toDescriptor) };
}

export function parseConfig(what: string, data: Buffer): ImageConfig {
  const j = check(what, ConfigSchema, parseJson(what, data));
  for (const d of j.rootfs.diff_ids) validateDigest(d);
  return { platform: { os: j.os, architecture: j.architecture, ...(j.variant ? { variant: j.variant } : {}) }, diffIds: j.rootfs.diff_ids };
}

/** Refuses Docker schema 1 (containerd 2.x refuses it too) and anything that is not an image document. */
export function requireImageDocument(what: string, mediaType: string): void {
  if (isSchema1Type(mediaType)) {
    throw notImplemented(
      `${what}: media type ${JSON.stringify(mediaType)} (Docker schema 1) is not supported; rebuild the image as ${MEDIA_TYPE.dockerManifest} or ${MEDIA_TYPE.ociManifest}`,
    );
  }
  if (!isIndexType(mediaType) && !isManifestType(mediaType))
    throw notImplemented(`${what}: media type ${JSON.stringify(mediaType)} is not an image index or manifest`);
}

/**
 * The children of an index or manifest document (what containerd's images.Children returns):
 * an index's manifests, a manifest's config then layers; none for anything else.
 */
export function children(desc: Descriptor, data: Buffer): PlatformDescriptor[] {
  if (isIndexType(desc.mediaType)) return parseIndex(`index ${desc.digest}`, data, desc.mediaType).manifests;
  if (isManifestType(desc.mediaType)) {
    const m = parseManifest(`manifest ${desc.digest}`, data, desc.mediaType);
    return [m.config, ...m.layers];
  }
  return [];
}

/** containerd's images.ChildGCLabels: the label key (a prefix when it ends in `.`) naming a child. */
function childGcKey(child: Descriptor): string {
  if (isConfigType(child.mediaType)) return 'containerd.io/gc.ref.content.config';
  if (isManifestType(child.mediaType)) return 'containerd.io/gc.ref.content.m.';
  if (isLayerType(child.mediaType)) return 'containerd.io/gc.ref.content.l.';
  return 'containerd.io/gc.ref.content.';
}

/**
 * The gc reference labels containerd puts on a document for its children
 * (images.SetChildrenMappedLabels): one key per child, numbered per key (`…m.0`, `…l.0`, `…l.1`;
 * `…config` unnumbered unless repeated). They let GC follow an image from its target.
 */
export function childGcLabels(kids: readonly Descriptor[]): Record<string, string> {
  const out: Record<string, string> = {};
  const seen = new Map<string, number>();
  for (const k of kids) {
    let key = childGcKey(k);
    const idx = seen.get(key) ?? 0;
    seen.set(key, idx + 1);
    if (idx > 0 || key.endsWith('.')) key = `${key}${idx}`;
    out[key] = k.digest;
  }
  return out;
}
