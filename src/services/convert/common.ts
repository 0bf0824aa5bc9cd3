import type { Descriptor, Labels, Mount } from '../../core/types';

/** google.protobuf.Timestamp as proto-loader gives it with `longs: String`. */
export interface Timestamp {
  seconds: string | number;
  nanos: number;
}

/** containerd encodes a zero time as 0001-01-01T00:00:00Z. */
const ZERO_SECONDS = -62135596800;

export function toTimestamp(d: Date | undefined): Timestamp {
  if (!d) return { seconds: String(ZERO_SECONDS), nanos: 0 };
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1e6 };
}

/** Undefined for absent or zero (year 0001) timestamps: ctr sends those meaning "unset". */
export function fromTimestamp(t: Timestamp | null | undefined): Date | undefined {
  if (!t) return undefined;
  const s = Number(t.seconds);
  if (!Number.isFinite(s) || s <= ZERO_SECONDS) return undefined;
  return new Date(s * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}

export interface FieldMask {
  paths: string[];
}

export interface DescriptorProto {
  media_type: string;
  digest: string;
  size: string | number;
  annotations: Labels;
}

export function descriptorToProto(d: Descriptor): DescriptorProto {
  return { media_type: d.mediaType, digest: d.digest, size: String(d.size), annotations: d.annotations ?? {} };
}

export function descriptorFromProto(d: DescriptorProto | null | undefined): Descriptor | undefined {
  if (!d) return undefined;
  const size = Number(d.size);
  const out: Descriptor = { mediaType: d.media_type, digest: d.digest, size };
  if (d.annotations && Object.keys(d.annotations).length) out.annotations = { ...d.annotations };
  return out;
}

export interface MountProto {
  type: string;
  source: string;
  target: string;
  options: string[];
}

export function mountToProto(m: Mount): MountProto {
  return { type: m.type, source: m.source, target: m.target ?? '', options: [...m.options] };
}

export function mountFromProto(m: MountProto): Mount {
  return { type: m.type, source: m.source, target: m.target || undefined, options: [...(m.options ?? [])] };
}
