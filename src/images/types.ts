import type { Ctx } from '../core/context';
import type { Descriptor, Labels } from '../core/types';

/** containerd's images.Image: a name pointing at a target descriptor (manifest or index). */
export interface Image {
  name: string;
  labels: Labels;
  target: Descriptor;
  createdAt: Date;
  updatedAt: Date;
}

/** What callers give to create/update: times are filled in by the store. */
export type ImageInput = Omit<Image, 'createdAt' | 'updatedAt'>;

/** containerd's images.Store (namespaced by ctx.ns). */
export interface ImageStore {
  get(ctx: Ctx, name: string): Promise<Image>;
  /** Filters: `name`, `target.digest`, `target.mediatype`, `labels.<key>` (containerd syntax). */
  list(ctx: Ctx, filters?: readonly string[]): Promise<Image[]>;
  /** AlreadyExists if the name is taken. */
  create(ctx: Ctx, image: ImageInput): Promise<Image>;
  /**
   * Field paths: `labels`, `labels.<key>`, `target`, `annotations`, `annotations.<key>`
   * (target annotations). None = replace labels and target. NotFound if absent.
   */
  update(ctx: Ctx, image: ImageInput, fieldpaths?: readonly string[]): Promise<Image>;
  delete(ctx: Ctx, name: string): Promise<void>;
}
