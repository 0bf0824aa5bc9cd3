import type { Descriptor, Mount } from '../../core/types';
import { invalidArgument } from '../../core/errors';
import type { Timestamp } from '../../api/gen/google/protobuf/timestamp';
import type { Descriptor as DescriptorProto } from '../../api/gen/containerd/types/descriptor';
import type { Mount as MountProto } from '../../api/gen/containerd/types/mount';

export type { Timestamp, DescriptorProto, MountProto };

export { fromTimestamp, toTimestamp } from '../../api/timestamp';

/**
 * Edge validation of decoded requests. The generated decoder already guarantees every field's
 * type and fills defaults, so what is left is meaning: a message field that must be present, a
 * 64-bit value that must fit a JS number.
 */
export function required<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw invalidArgument(what);
  return v;
}

/** An int64 (a decimal string on the wire types) as a non-negative safe integer. */
export function nonNegative(name: string, v: string): number {
  const n = v === '' ? 0 : Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`${name}: must be a non-negative integer`);
  return n;
}

export function descriptorToProto(d: Descriptor): DescriptorProto {
  return { media_type: d.mediaType, digest: d.digest, size: String(d.size), annotations: d.annotations ?? {} };
}

export function descriptorFromProto(d: DescriptorProto | undefined): Descriptor | undefined {
  if (!d) return undefined;
  const size = Number(d.size);
  const out: Descriptor = { mediaType: d.media_type, digest: d.digest, size };
  if (Object.keys(d.annotations).length) out.annotations = { ...d.annotations };
  return out;
}

export function mountToProto(m: Mount): MountProto {
  return { type: m.type, source: m.source, target: m.target ?? '', options: [...m.options] };
}

export function mountFromProto(m: MountProto): Mount {
  return { type: m.type, source: m.source, target: m.target || undefined, options: [...m.options] };
}
