import type { ServiceImpl } from '../transport';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import type { ImageStore } from '../images/types';
import { required } from './convert/common';
import { imageFromProto, imageToProto } from './convert/images';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import type { Api } from './grpc/api-types';

export const IMAGES_SERVICE = 'containerd.services.images.v1.Images' as const;

/** What the images and leases services need from GC (Wiring part 'gc'). */
export interface GcTrigger {
  collect(): Promise<unknown>;
  schedule(): void;
  /** Collect at this time (a lease's expiry). */
  wakeAt?(at: Date): void;
}

type T = Api<typeof IMAGES_SERVICE>;

/** containerd's images service: validation in the store, events here, GC after deletes. */
export function imagesService(store: ImageStore, log: Logger, events?: () => EventPublisher | undefined, gc?: () => GcTrigger | undefined): ServiceImpl {
  const m = (name: string) => `Images/${name}`;
  return {
    Get: unary(log, m('Get'), async (req: T['Get']['req'], ctx): Promise<T['Get']['res']> => {
      return { image: imageToProto(await store.get(requireNamespace(ctx), req.name)) };
    }),

    List: unary(log, m('List'), async (req: T['List']['req'], ctx): Promise<T['List']['res']> => {
      return { images: (await store.list(requireNamespace(ctx), req.filters)).map(imageToProto) };
    }),

    Create: unary(log, m('Create'), async (req: T['Create']['req'], ctx): Promise<T['Create']['res']> => {
      const c = requireNamespace(ctx);
      const created = await store.create(c, imageFromProto(required(req.image, 'image: required')));
      events?.()?.publish(c.ns, '/images/create', 'containerd.services.images.v1.ImageCreate', { name: created.name, labels: created.labels });
      return { image: imageToProto(created) };
    }),

    Update: unary(log, m('Update'), async (req: T['Update']['req'], ctx): Promise<T['Update']['res']> => {
      const c = requireNamespace(ctx);
      const updated = await store.update(c, imageFromProto(required(req.image, 'image: required')), req.update_mask);
      events?.()?.publish(c.ns, '/images/update', 'containerd.services.images.v1.ImageUpdate', { name: updated.name, labels: updated.labels });
      return { image: imageToProto(updated) };
    }),

    Delete: unary(log, m('Delete'), async (req: T['Delete']['req'], ctx): Promise<T['Delete']['res']> => {
      const c = requireNamespace(ctx);
      const { name, sync } = req;
      await store.delete(c, name);
      events?.()?.publish(c.ns, '/images/delete', 'containerd.services.images.v1.ImageDelete', { name });
      const g = gc?.();
      if (sync) await g?.collect();
      else g?.schedule();
      return {};
    }),
  };
}
