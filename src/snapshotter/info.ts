import { adapt } from '../core/filters';
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
