import type { Ctx } from '../core/context';
import { isAlreadyExists } from '../core/errors';
import type { Image, ImageInput } from '../images/types';
import type { TransferStores } from './types';

/**
 * Creates the image record, or replaces target and labels of an existing one (what `ctr images
 * pull` does on AlreadyExists), and publishes the Images service's event for it.
 */
export async function saveImage(ctx: Ctx, stores: TransferStores, input: ImageInput): Promise<Image> {
  try {
    const img = await stores.images.create(ctx, input);
    stores.events?.publish(ctx.ns, '/images/create', 'containerd.services.images.v1.ImageCreate', { name: img.name, labels: img.labels });
    return img;
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  const img = await stores.images.update(ctx, input);
  stores.events?.publish(ctx.ns, '/images/update', 'containerd.services.images.v1.ImageUpdate', { name: img.name, labels: img.labels });
  return img;
}
