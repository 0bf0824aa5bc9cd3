import type { Info, Status } from '../../content/types';
import type { Labels } from '../../core/types';
import { type Timestamp, toTimestamp } from './common';

export interface InfoProto {
  digest: string;
  size: string | number;
  created_at: Timestamp | null;
  updated_at: Timestamp | null;
  labels: Labels;
}

export interface StatusProto {
  started_at: Timestamp | null;
  updated_at: Timestamp | null;
  ref: string;
  offset: string | number;
  total: string | number;
  expected: string;
}

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

/** int64 fields arrive as strings (longs: String); negative or non-integral values are rejected by callers. */
export function int64(v: string | number | null | undefined): number {
  if (v === undefined || v === null || v === '') return 0;
  return Number(v);
}
