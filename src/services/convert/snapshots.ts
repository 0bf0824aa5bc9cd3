import type { Info, Kind } from '../../snapshotter/types';
import { fromTimestamp, toTimestamp, type Timestamp } from './common';

/** containerd.services.snapshots.v1.Info as proto-loader gives it (keepCase, enums as String). */
export interface InfoProto {
  name: string;
  parent: string;
  kind: 'UNKNOWN' | Kind;
  created_at: Timestamp | null;
  updated_at: Timestamp | null;
  labels: Record<string, string>;
}

export function infoToProto(i: Info): InfoProto {
  return { name: i.name, parent: i.parent ?? '', kind: i.kind, created_at: toTimestamp(i.createdAt), updated_at: toTimestamp(i.updatedAt), labels: { ...i.labels } };
}

/** Only name and labels matter on the way in (Update). */
export function infoFromProto(p: Partial<InfoProto> | null | undefined): Pick<Info, 'name' | 'labels'> & { createdAt?: Date; updatedAt?: Date } {
  return { name: p?.name ?? '', labels: { ...(p?.labels ?? {}) }, createdAt: fromTimestamp(p?.created_at), updatedAt: fromTimestamp(p?.updated_at) };
}
