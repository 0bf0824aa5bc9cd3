import { invalidArgument } from '../core/errors';
import { adapt } from '../core/filters';
import type { Labels } from '../core/types';
import type { SnapshotRecord } from './storage';
import type { Info } from './types';

/** Snapshot Info helpers shared by the backends and the namespaced view (pure). */

export function toInfo(name: string, rec: Pick<SnapshotRecord, 'kind' | 'parent' | 'labels' | 'createdAt' | 'updatedAt'>): Info {
  const info: Info = { name, kind: rec.kind, labels: { ...rec.labels }, createdAt: new Date(rec.createdAt), updatedAt: new Date(rec.updatedAt) };
  if (rec.parent !== undefined) info.parent = rec.parent;
  return info;
}

/** Filter fields as containerd's adaptSnapshot: name, parent, kind (lower case), labels.<k>. */
export function adaptInfo(info: Info) {
  return adapt({ name: info.name, parent: info.parent ?? '', kind: info.kind.toLowerCase() }, info.labels);
}

/** containerd's snapshot Update: only `labels` / `labels.<k>`; no paths replaces all labels. */
export function updateLabels(name: string, current: Labels, next: Labels, fieldpaths: readonly string[]): Labels {
  if (fieldpaths.length === 0) return { ...next };
  let out = { ...current };
  for (const p of fieldpaths) {
    if (p === 'labels') out = { ...next };
    else if (p.startsWith('labels.') && p.length > 'labels.'.length) {
      const k = p.slice('labels.'.length);
      if (next[k] !== undefined && next[k] !== '') out[k] = next[k]!;
      else delete out[k];
    } else throw invalidArgument(`snapshot ${name}: cannot update ${JSON.stringify(p)} field`);
  }
  return out;
}

/** containerd's labels.Validate: key plus value at most 4096 bytes. */
export function validateLabels(labels: Labels | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const n = Buffer.byteLength(k) + Buffer.byteLength(v);
    if (n > 4096) throw invalidArgument(`label ${JSON.stringify(k.slice(0, 64))}: key and value length (${n} bytes) greater than maximum size (4096 bytes)`);
  }
}
