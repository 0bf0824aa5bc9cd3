import type { Info, Status } from '../../content/types';
import type { Info as InfoProto, Status as StatusProto } from '../../api/gen/containerd/services/content/v1/content';
import { toTimestamp } from './common';

export type { InfoProto, StatusProto };

export function infoToProto(i: Info): InfoProto {
  return { digest: i.digest, size: String(i.size), created_at: toTimestamp(i.createdAt), updated_at: toTimestamp(i.updatedAt), labels: { ...i.labels } };
}

export function statusToProto(s: Status): StatusProto {
  return {
    started_at: toTimestamp(s.startedAt),
    updated_at: toTimestamp(s.updatedAt),
    ref: s.ref,
    offset: String(s.offset),
    total: String(s.total),
    expected: s.expected ?? '',
  };
}
