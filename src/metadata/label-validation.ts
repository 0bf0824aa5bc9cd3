import { invalidArgument } from '../core/errors';
import type { Labels } from '../core/types';

/** containerd's labels.Validate: a key plus its value may not exceed 4 KiB. */
export const MAX_LABEL_BYTES = 4096;

export function validateLabels(what: string, labels: Labels | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!k) throw invalidArgument(`${what}: label key must not be empty`);
    if (k.includes('\x00') || v.includes('\x00')) throw invalidArgument(`${what}: label ${JSON.stringify(k.slice(0, 64))} contains NUL`);
    if (Buffer.byteLength(k) + Buffer.byteLength(v) > MAX_LABEL_BYTES) {
      throw invalidArgument(`${what}: label key and value length (${Buffer.byteLength(k) + Buffer.byteLength(v)} bytes) greater than maximum size (${MAX_LABEL_BYTES} bytes), key: ${k.slice(0, 64)}`);
    }
  }
}

/** Parses an RFC3339 time; undefined when absent or malformed (containerd ignores bad values). */
export function parseTime(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
