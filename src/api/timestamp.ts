/** google.protobuf.Timestamp ↔ Date, for berthd's converters and the client library alike. */
import type { Timestamp } from './gen/google/protobuf/timestamp';

/** containerd encodes a zero time as 0001-01-01T00:00:00Z. */
const ZERO_SECONDS = -62135596800;

/** undefined becomes containerd's zero time. */
export function toTimestamp(d: Date | undefined): Timestamp {
  if (!d) return { seconds: String(ZERO_SECONDS), nanos: 0 };
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1e6 };
}

/** Undefined for absent or zero (year 0001) timestamps: ctr sends those meaning "unset". */
export function fromTimestamp(t: Timestamp | undefined): Date | undefined {
  if (!t) return undefined;
  const s = Number(t.seconds);
  if (!Number.isFinite(s) || s <= ZERO_SECONDS) return undefined;
  return new Date(s * 1000 + Math.floor(t.nanos / 1e6));
}
