import { invalidArgument } from '../../core/errors';
import type { Image, ImageInput } from '../../images/types';
import type { Image as ImageProto } from '../../api/gen/containerd/services/images/v1/images';
import { descriptorFromProto, descriptorToProto, toTimestamp } from './common';

export type { ImageProto };

export function imageToProto(i: Image): ImageProto {
  return {
    name: i.name,
    labels: { ...i.labels },
    target: descriptorToProto(i.target),
    created_at: toTimestamp(i.createdAt),
    updated_at: toTimestamp(i.updatedAt),
  };
}

/** created_at/updated_at from clients are ignored: ctr sends year 0001, the store sets them. */
export function imageFromProto(i: ImageProto): ImageInput {
  const target = descriptorFromProto(i.target) ?? { mediaType: '', digest: '', size: 0 };
  if (!Number.isFinite(target.size)) throw invalidArgument(`image ${i.name}: target size is not a number`);
  return { name: i.name, labels: { ...i.labels }, target };
}
