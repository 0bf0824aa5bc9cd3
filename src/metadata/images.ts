import { z } from 'zod';
import { type Ctx, namespaceRequired } from '../core/context';
import { parseDigest } from '../core/digest';
import { alreadyExists, invalidArgument, notFound } from '../core/errors';
import { type Adaptor, parseFilters } from '../core/filters';
import type { Descriptor } from '../core/types';
import type { Image, ImageInput, ImageStore } from '../images/types';
import type { MetadataDB } from './db';
import { validateLabels } from '../core/labels';
import { ensureNamespace } from './namespace-record';
import { keys } from './schema';

/** Value of `keys.image(ns, name)`. Dates as ISO strings. */
export const ImageRecordSchema = z.object({
  target: z.object({
    mediaType: z.string(),
    digest: z.string(),
    size: z.number(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  labels: z.record(z.string(), z.string()).default({}),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ImageRecord = z.infer<typeof ImageRecordSchema>;

/** Image names are references (`docker.io/library/x:tag`), not identifiers: only sanity limits. */
const MAX_NAME_BYTES = 4096;

function validateName(name: string): void {
  if (!name) throw invalidArgument('image name must not be empty');
  if (name.includes('\x00')) throw invalidArgument('image name must not contain NUL');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw invalidArgument(`image name longer than ${MAX_NAME_BYTES} bytes`);
}

/** containerd's validateImage: name, target media type and digest are required. */
function validate(image: ImageInput): void {
  validateName(image.name);
  validateLabels(`image ${image.name}`, image.labels);
  const t = image.target;
  if (!t) throw invalidArgument(`image ${image.name}: target must be set`);
  if (!t.mediaType) throw invalidArgument(`image ${image.name}: target media type must be set`);
  try {
    parseDigest(t.digest);
  } catch (e) {
    throw invalidArgument(`image ${image.name}: target digest ${JSON.stringify(String(t.digest).slice(0, 140))} is invalid`, { cause: e });
  }
  if (!Number.isSafeInteger(t.size) || t.size < 0) throw invalidArgument(`image ${image.name}: target size ${t.size} is invalid`);
}

function cloneTarget(t: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: t.mediaType, digest: t.digest, size: t.size };
  if (t.annotations && Object.keys(t.annotations).length) out.annotations = { ...t.annotations };
  return out;
}

function toRecord(i: Image): ImageRecord {
  return { target: cloneTarget(i.target), labels: { ...i.labels }, createdAt: i.createdAt.toISOString(), updatedAt: i.updatedAt.toISOString() };
}

function fromRecord(name: string, raw: unknown): Image {
  const r = ImageRecordSchema.parse(raw);
  return { name, target: cloneTarget(r.target), labels: { ...r.labels }, createdAt: new Date(r.createdAt), updatedAt: new Date(r.updatedAt) };
}

/** containerd's image filter fields: name, target.digest, target.mediatype, labels.<key>. */
export function imageAdaptor(i: Image): Adaptor {
  return (path) => {
    switch (path[0]) {
      case 'name':
        return path.length === 1 ? i.name : undefined;
      case 'labels':
        return i.labels[path.slice(1).join('.')];
      case 'target':
        if (path.length !== 2) return undefined;
        if (path[1] === 'digest') return i.target.digest;
        if (path[1] === 'mediatype') return i.target.mediaType;
        return undefined;
      default:
        return undefined;
    }
  };
}

/** Applies containerd's image update field paths onto `current`. */
function applyPaths(current: Image, next: ImageInput, fieldpaths: readonly string[]): ImageInput {
  const out: ImageInput = { name: current.name, labels: { ...current.labels }, target: cloneTarget(current.target) };
  for (const p of fieldpaths) {
    if (p.startsWith('labels.') && p.length > 'labels.'.length) {
      const k = p.slice('labels.'.length);
      const v = next.labels[k];
      if (v) out.labels[k] = v;
      else delete out.labels[k];
    } else if (p.startsWith('annotations.') && p.length > 'annotations.'.length) {
      const k = p.slice('annotations.'.length);
      const v = next.target?.annotations?.[k];
      const ann = { ...(out.target.annotations ?? {}) };
      if (v) ann[k] = v;
      else delete ann[k];
      out.target.annotations = ann;
    } else if (p === 'labels') out.labels = { ...next.labels };
    else if (p === 'target') out.target = cloneTarget(next.target);
    else if (p === 'annotations') out.target.annotations = { ...(next.target?.annotations ?? {}) };
    else throw invalidArgument(`image ${current.name}: cannot update ${JSON.stringify(p)} field`);
  }
  if (out.target.annotations && Object.keys(out.target.annotations).length === 0) delete out.target.annotations;
  return out;
}

export class LevelImageStore implements ImageStore {
  constructor(private readonly db: MetadataDB) {}

  async get(ctx: Ctx, name: string): Promise<Image> {
    const ns = namespaceRequired(ctx);
    validateName(name);
    const raw = await this.db.view((tx) => tx.get(keys.image(ns, name)));
    if (raw === undefined) throw notFound(`image ${JSON.stringify(name)}: not found`);
    return fromRecord(name, raw);
  }

  async list(ctx: Ctx, filters?: readonly string[]): Promise<Image[]> {
    const ns = namespaceRequired(ctx);
    const match = parseFilters(filters);
    const out: Image[] = [];
    await this.db.view(async (tx) => {
      for await (const { key, value } of tx.list(keys.images(ns))) {
        const img = fromRecord(key[key.length - 1]!, value);
        if (match(imageAdaptor(img))) out.push(img);
      }
    });
    return out;
  }

  async create(ctx: Ctx, image: ImageInput): Promise<Image> {
    const ns = namespaceRequired(ctx);
    validate(image);
    return this.db.update(async (tx) => {
      await ensureNamespace(tx, ns);
      if (await tx.has(keys.image(ns, image.name))) throw alreadyExists(`image ${JSON.stringify(image.name)}: already exists`);
      const now = new Date();
      const created: Image = { name: image.name, labels: { ...image.labels }, target: cloneTarget(image.target), createdAt: now, updatedAt: now };
      tx.put(keys.image(ns, image.name), toRecord(created));
      return created;
    });
  }

  async update(ctx: Ctx, image: ImageInput, fieldpaths?: readonly string[]): Promise<Image> {
    const ns = namespaceRequired(ctx);
    validateName(image.name);
    return this.db.update(async (tx) => {
      await ensureNamespace(tx, ns);
      const raw = await tx.get(keys.image(ns, image.name));
      if (raw === undefined) throw notFound(`image ${JSON.stringify(image.name)}: not found`);
      const current = fromRecord(image.name, raw);
      const next =
        fieldpaths && fieldpaths.length ? applyPaths(current, image, fieldpaths) : { name: image.name, labels: { ...image.labels }, target: image.target };
      validate(next);
      const updated: Image = { ...next, target: cloneTarget(next.target), labels: { ...next.labels }, createdAt: current.createdAt, updatedAt: new Date() };
      tx.put(keys.image(ns, image.name), toRecord(updated));
      return updated;
    });
  }

  async delete(ctx: Ctx, name: string): Promise<void> {
    const ns = namespaceRequired(ctx);
    validateName(name);
    await this.db.update(async (tx) => {
      if (!(await tx.has(keys.image(ns, name)))) throw notFound(`image ${JSON.stringify(name)}: not found`);
      tx.del(keys.image(ns, name));
    });
  }
}
