import { invalidArgument } from './errors';
import type { Labels } from './types';

/** containerd's labels.Validate: a key plus its value may not exceed 4 KiB. */
export const MAX_LABEL_BYTES = 4096;

/** Rejects empty keys, NUL (labels become DB values and filter inputs) and oversize pairs. */
export function validateLabels(what: string, labels: Labels | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!k) throw invalidArgument(`${what}: label key must not be empty`);
    if (k.includes('\x00') || v.includes('\x00')) throw invalidArgument(`${what}: label ${JSON.stringify(k.slice(0, 64))} contains NUL`);
    if (Buffer.byteLength(k) + Buffer.byteLength(v) > MAX_LABEL_BYTES) {
      throw invalidArgument(
        `${what}: label key and value length (${Buffer.byteLength(k) + Buffer.byteLength(v)} bytes) greater than maximum size (${MAX_LABEL_BYTES} bytes), key: ${k.slice(0, 64)}`,
      );
    }
  }
}

/**
 * containerd's label update for objects whose only updatable field is their labels (content,
 * namespaces, snapshots): no field paths replaces every label; `labels` does too; `labels.<key>`
 * (a key may contain dots and slashes) copies that one key from `next`, and an absent or empty
 * value deletes it. Any other path is InvalidArgument.
 */
export function updateLabels(what: string, current: Labels, next: Labels, fieldpaths: readonly string[] = []): Labels {
  if (fieldpaths.length === 0) return { ...next };
  let out = { ...current };
  for (const p of fieldpaths) {
    if (p === 'labels') out = { ...next };
    else if (p.startsWith('labels.') && p.length > 'labels.'.length) {
      const k = p.slice('labels.'.length);
      if (next[k]) out[k] = next[k]!;
      else delete out[k];
    } else throw invalidArgument(`${what}: cannot update ${JSON.stringify(p)} field`);
  }
  return out;
}
