import type { Info } from '../../snapshotter/types';
import type { Info as InfoProto } from '../../api/gen/containerd/services/snapshots/v1/snapshots';
import { fromTimestamp, toTimestamp } from './common';

export type { InfoProto };

export function infoToProto(i: Info): InfoProto {
  return {
    name: i.name,
    parent: i.parent ?? '',
    kind: i.kind,
    created_at: toTimestamp(i.createdAt),
    updated_at: toTimestamp(i.updatedAt),
    labels: { ...i.labels },
  };
}

/** Only name and labels matter on the way in (Update). */
export function infoFromProto(p: InfoProto | undefined): Pick<Info, 'name' | 'labels'> & { createdAt?: Date; updatedAt?: Date } {
  return { name: p?.name ?? '', labels: { ...p?.labels }, createdAt: fromTimestamp(p?.created_at), updatedAt: fromTimestamp(p?.updated_at) };
}
