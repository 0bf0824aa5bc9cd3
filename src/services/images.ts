import type { ServiceImpl } from '../transport/grpc/server';
import { z } from 'zod';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import type { ImageStore } from '../images/types';
import { imageFromProto, imageToProto } from './convert/images';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import { parseRequest as parse } from './grpc/parse';

export const IMAGES_SERVICE = 'containerd.services.images.v1.Images';

/** What the images and leases services need from GC (Wiring part 'gc'). */
export interface GcTrigger {
  collect(): Promise<unknown>;
  schedule(): void;
  /** Collect at this time (a lease's expiry). */
  wakeAt?(at: Date): void;
}

const LabelsSchema = z.record(z.string(), z.string()).nullish().transform((l) => l ?? {});
const TimestampSchema = z.object({ seconds: z.union([z.string(), z.number()]), nanos: z.number() }).nullish();
const DescriptorSchema = z.object({
  media_type: z.string().default(''),
  digest: z.string().default(''),
  size: z.union([z.string(), z.number()]).default('0'),
  annotations: LabelsSchema,
});
const ImageSchema = z.object({
  name: z.string().default(''),
  labels: LabelsSchema,
  target: DescriptorSchema.nullish().transform((t) => t ?? null),
  created_at: TimestampSchema.transform((t) => t ?? null),
  updated_at: TimestampSchema.transform((t) => t ?? null),
});
export const GetImageRequestSchema = z.object({ name: z.string().default('') });
export const ListImagesRequestSchema = z.object({ filters: z.array(z.string()).default([]) });
export const CreateImageRequestSchema = z.object({ image: ImageSchema.nullish() });
export const UpdateImageRequestSchema = z.object({ image: ImageSchema.nullish(), update_mask: z.object({ paths: z.array(z.string()).default([]) }).nullish() });
export const DeleteImageRequestSchema = z.object({ name: z.string().default(''), sync: z.boolean().default(false) });

/** containerd's images service: validation in the store, events here, GC after deletes. */
export function imagesService(store: ImageStore, log: Logger, events?: () => EventPublisher | undefined, gc?: () => GcTrigger | undefined): ServiceImpl {
  const m = (name: string) => `Images/${name}`;
  return {
    Get: unary(log, m('Get'), async (req, ctx) => {
      const { name } = parse(GetImageRequestSchema, req);
      return { image: imageToProto(await store.get(requireNamespace(ctx), name)) };
    }),

    List: unary(log, m('List'), async (req, ctx) => {
      const { filters } = parse(ListImagesRequestSchema, req);
      return { images: (await store.list(requireNamespace(ctx), filters)).map(imageToProto) };
    }),

    Create: unary(log, m('Create'), async (req, ctx) => {
      const c = requireNamespace(ctx);
      const { image } = parse(CreateImageRequestSchema, req);
      if (!image) throw invalidArgument('image: required');
      const created = await store.create(c, imageFromProto(image));
      events?.()?.publish(c.ns, '/images/create', 'containerd.services.images.v1.ImageCreate', { name: created.name, labels: created.labels });
      return { image: imageToProto(created) };
    }),

    Update: unary(log, m('Update'), async (req, ctx) => {
      const c = requireNamespace(ctx);
      const { image, update_mask } = parse(UpdateImageRequestSchema, req);
      if (!image) throw invalidArgument('image: required');
      const updated = await store.update(c, imageFromProto(image), update_mask?.paths);
      events?.()?.publish(c.ns, '/images/update', 'containerd.services.images.v1.ImageUpdate', { name: updated.name, labels: updated.labels });
      return { image: imageToProto(updated) };
    }),

    Delete: unary(log, m('Delete'), async (req, ctx) => {
      const c = requireNamespace(ctx);
      const { name, sync } = parse(DeleteImageRequestSchema, req);
      await store.delete(c, name);
      events?.()?.publish(c.ns, '/images/delete', 'containerd.services.images.v1.ImageDelete', { name });
      const g = gc?.();
      if (sync) await g?.collect();
      else g?.schedule();
      return {};
    }),
  };
}
