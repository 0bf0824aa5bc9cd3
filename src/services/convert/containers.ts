import type { Container, StoredAny } from '../../containers';
import type { AnyValue } from '../../api';
import type { Container as ContainerProto } from '../../api/gen/containerd/services/containers/v1/containers';
import { toTimestamp } from './common';

export type { ContainerProto };

export function anyToStored(a: AnyValue | undefined): StoredAny | undefined {
  if (!a || (!a.type_url && a.value.length === 0)) return undefined;
  return { typeUrl: a.type_url, value: Buffer.from(a.value).toString('base64') };
}

export function storedToAny(s: StoredAny | undefined): AnyValue | undefined {
  return s ? { type_url: s.typeUrl, value: Buffer.from(s.value, 'base64') } : undefined;
}

export function containerToProto(c: Container): ContainerProto {
  return {
    id: c.id,
    labels: c.labels,
    image: c.image,
    runtime: { name: c.runtime.name, options: storedToAny(c.runtime.options) },
    spec: storedToAny(c.spec),
    snapshotter: c.snapshotter,
    snapshot_key: c.snapshotKey,
    created_at: toTimestamp(c.createdAt),
    updated_at: toTimestamp(c.updatedAt),
    extensions: Object.fromEntries(Object.entries(c.extensions).map(([k, v]) => [k, storedToAny(v)!])),
  };
}

export function containerFromProto(p: ContainerProto): Omit<Container, 'createdAt' | 'updatedAt'> {
  const extensions: Record<string, StoredAny> = {};
  for (const [k, v] of Object.entries(p.extensions)) {
    const s = anyToStored(v);
    if (s) extensions[k] = s;
  }
  const options = anyToStored(p.runtime?.options);
  return {
    id: p.id,
    labels: { ...p.labels },
    image: p.image,
    runtime: options ? { name: p.runtime?.name ?? '', options } : { name: p.runtime?.name ?? '' },
    spec: anyToStored(p.spec),
    snapshotter: p.snapshotter,
    snapshotKey: p.snapshot_key,
    extensions,
  };
}
