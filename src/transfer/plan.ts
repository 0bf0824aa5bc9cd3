import { notFound } from '../core/errors';
import type { Descriptor, Platform } from '../core/types';
import { childGcLabels, parseIndex, parseManifest, requireImageDocument, type PlatformDescriptor } from '../images/manifest';
import { isIndexType, isManifestType } from '../images/media-types';
import { ALL_PLATFORMS, formatPlatform, onlyPlatform, selectManifests } from '../images/platforms';

/**
 * The image tree below a target: index and manifest documents (parents before children) with the
 * children each keeps after platform selection and the gc labels that reference them, and each
 * selected manifest's config and layers. Documents come from `source` (a registry, the content
 * store, an archive), so pull, push, import and export walk the same way.
 */
export interface PlannedDoc {
  desc: Descriptor;
  data: Buffer;
  /** Selected children (an index's manifests, a manifest's config and layers). */
  children: PlatformDescriptor[];
  /** containerd's `containerd.io/gc.ref.content.*` labels for those children. */
  gcLabels: Record<string, string>;
}

export interface PlannedManifest {
  desc: PlatformDescriptor;
  config: Descriptor;
  layers: PlatformDescriptor[];
  /** A manifest for a platform not asked for, kept for its metadata (allMetadata): manifest and config only. */
  metadataOnly?: boolean;
}

export interface ImagePlan {
  root: Descriptor;
  docs: PlannedDoc[];
  manifests: PlannedManifest[];
}

export interface PlatformChoice {
  /** Every platform an index lists. */
  all?: boolean;
  /** Else one manifest per platform (best match first, containerd's Only); default the host's. */
  platforms: Platform[];
  /**
   * containerd's all_metadata: every manifest of an index and its config too, the layers only of
   * those selected (an image that can be pushed again whole, as `ctr pull` keeps it).
   */
  allMetadata?: boolean;
  /** At most this many manifests from an index, best first (containerd's manifest_limit). */
  limit?: number;
}

/** Picks an index's manifests: all, or the best for each platform; NotFound when none matches. */
export function selectFromIndex(index: Descriptor, entries: PlatformDescriptor[], choice: PlatformChoice): PlatformDescriptor[] {
  if (choice.all) return selectManifests(entries, ALL_PLATFORMS, choice.limit && choice.limit > 0 ? choice.limit : Infinity);
  const picked = new Set<PlatformDescriptor>();
  for (const p of choice.platforms) for (const e of selectManifests(entries, onlyPlatform(p), 1)) picked.add(e);
  const out = entries.filter((e) => picked.has(e)).slice(0, choice.limit && choice.limit > 0 ? choice.limit : undefined);
  if (out.length === 0) {
    const have = entries.map((e) => (e.platform ? formatPlatform(e.platform) : 'unknown')).join(', ');
    throw notFound(
      `no match for platform in manifest ${index.digest}: wanted ${choice.platforms.map(formatPlatform).join(', ')}, the index has ${have || 'nothing'}`,
    );
  }
  return out;
}

export async function planImage(root: Descriptor, source: (d: Descriptor) => Promise<Buffer>, choice: PlatformChoice, what: string): Promise<ImagePlan> {
  requireImageDocument(what, root.mediaType);
  const plan: ImagePlan = { root, docs: [], manifests: [] };
  const seen = new Set<string>();
  const visit = async (desc: PlatformDescriptor, depth: number, metadataOnly: boolean): Promise<void> => {
    if (seen.has(desc.digest)) return;
    seen.add(desc.digest);
    if (depth > 4) throw notFound(`${what}: indexes nested more than 4 deep at ${desc.digest}`);
    const data = await source(desc);
    if (isIndexType(desc.mediaType)) {
      const idx = parseIndex(`index ${desc.digest}`, data, desc.mediaType);
      const entries = idx.manifests.filter((m) => isIndexType(m.mediaType) || isManifestType(m.mediaType));
      const picked = metadataOnly ? [] : selectFromIndex(desc, entries, choice);
      const kids = choice.allMetadata ? entries : picked;
      plan.docs.push({ desc, data, children: kids, gcLabels: childGcLabels(kids) });
      for (const k of picked) await visit(k, depth + 1, false);
      for (const k of kids) if (!picked.includes(k)) await visit(k, depth + 1, true);
    } else if (isManifestType(desc.mediaType)) {
      const m = parseManifest(`manifest ${desc.digest}`, data, desc.mediaType);
      const kids = [m.config, ...m.layers];
      plan.docs.push({ desc, data, children: kids, gcLabels: childGcLabels(kids) });
      plan.manifests.push({ desc, config: m.config, layers: m.layers, ...(metadataOnly ? { metadataOnly: true } : {}) });
    }
    // other media types below an index (attestations, signatures) are not image documents
  };
  await visit(root, 0, false);
  return plan;
}
