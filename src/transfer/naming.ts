import type { Descriptor, Labels } from '../core/types';

/**
 * containerd's transfer ImageStore naming (core/transfer/image/imagestore.go Store): the image
 * records one stored root gets. `name` names it outright; each extra reference either names it
 * too (a full name), or is a prefix: with `addDigest` it names it `<prefix>@<digest>`; for
 * entries of an imported archive it also turns the entry's annotations into a name
 * (`io.containerd.image.name`, else `org.opencontainers.image.ref.name`, a bare tag becoming
 * `<prefix>:<tag>`; `allowOverwrite` accepts a full name outside the prefix). Extra names get
 * `containerd.io/gc.bref.image=<name>` and an immediate `gc.expire`, as containerd gives them,
 * so they go with the main name.
 */
export interface ImageReference {
  name: string;
  isPrefix?: boolean;
  allowOverwrite?: boolean;
  addDigest?: boolean;
  skipNamedDigest?: boolean;
}

export interface ImageDestination {
  name?: string;
  labels?: Labels;
  extraReferences?: readonly ImageReference[];
}

export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/** containerd's isImagePrefix: `prefix` followed by nothing or by `/`, `:` or `@`. */
function hasImagePrefix(s: string, prefix: string): boolean {
  if (!s.startsWith(prefix)) return false;
  return s.length === prefix.length || '/:@'.includes(s[prefix.length]!);
}

/** containerd's refTranslator (archive.AddRefPrefix / FilterRefPrefix). */
function translate(prefix: string, checkPrefix: boolean): (ref: string) => string {
  return (ref) => {
    if (!prefix) return '';
    if (/[/:@]/.test(ref)) return checkPrefix && !hasImagePrefix(ref, prefix) ? '' : ref;
    return `${prefix}:${ref}`;
  };
}

/** containerd's imageName: the annotated full name (only if the translation keeps it), else the ref name translated. */
export function annotatedName(annotations: Record<string, string> | undefined, cleanup?: (s: string) => string): string {
  const full = annotations?.[ANNOTATION_IMAGE_NAME];
  if (full) return cleanup && cleanup(full) !== full ? '' : full;
  const ref = annotations?.[ANNOTATION_REF_NAME] ?? '';
  return ref && cleanup ? cleanup(ref) : ref;
}

export interface NamedImage {
  name: string;
  labels: Labels;
}

/**
 * The names `desc` is stored under. `fromArchive`: desc is an entry of an imported archive's
 * index (containerd's `io.containerd.import.ref-source: annotation`), named from its annotations.
 */
export function imageNames(dest: ImageDestination, desc: Descriptor, fromArchive: boolean, now = new Date()): NamedImage[] {
  const labels = dest.labels ?? {};
  const extraLabels = (): Labels => (dest.name ? { ...labels, 'containerd.io/gc.bref.image': dest.name, 'containerd.io/gc.expire': rfc3339(now) } : labels);
  const out: NamedImage[] = [];
  if (fromArchive) {
    for (const ref of dest.extraReferences ?? []) {
      if (!ref.isPrefix) continue;
      const name = annotatedName(desc.annotations, translate(ref.name, !ref.allowOverwrite));
      if (!name) {
        if (ref.addDigest) out.push({ name: `${ref.name}@${desc.digest}`, labels: extraLabels() });
        continue;
      }
      out.push({ name, labels: extraLabels() });
      if (ref.addDigest && !ref.skipNamedDigest) out.push({ name: `${ref.name}@${desc.digest}`, labels: extraLabels() });
    }
    return out;
  }
  if (dest.name) out.push({ name: dest.name, labels });
  for (const ref of dest.extraReferences ?? []) {
    if (ref.isPrefix && !ref.addDigest) continue;
    out.push({ name: ref.addDigest ? `${ref.name}@${desc.digest}` : ref.name, labels: extraLabels() });
  }
  return out;
}

/** Go's time.RFC3339 (seconds, zone offset or Z), as containerd formats gc.expire. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
