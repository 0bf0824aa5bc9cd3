import type { ContentStore, Info } from '../content/types';
import type { Ctx } from '../core/context';
import { isAlreadyExists, isNotFound, notFound } from '../core/errors';
import { MAX_LABEL_BYTES } from '../core/labels';
import type { Descriptor, Labels } from '../core/types';
import { hostOnly } from '../remotes/hosts';
import type { Reference } from '../core/reference';

/** Blob helpers over the namespaced content store, with containerd's labels. */

export async function infoOf(ctx: Ctx, content: ContentStore, digest: string): Promise<Info | undefined> {
  try {
    return await content.info(ctx, digest);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** A whole (small) blob: manifests, indexes, configs. */
export async function readBlob(ctx: Ctx, content: ContentStore, desc: Pick<Descriptor, 'digest'>, what = 'content'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of content.read(ctx, desc.digest)) chunks.push(c);
  } catch (e) {
    if (isNotFound(e)) throw notFound(`${what} ${desc.digest}: not found in the content store`, { cause: e });
    throw e;
  }
  return Buffer.concat(chunks);
}

/** Sets labels on a blob without touching its others (`labels.<key>` field paths). */
export async function setLabels(ctx: Ctx, content: ContentStore, digest: string, labels: Labels): Promise<void> {
  const keys = Object.keys(labels);
  if (!keys.length) return;
  await content.update(
    ctx,
    { digest, labels },
    keys.map((k) => `labels.${k}`),
  );
}

/**
 * containerd's `containerd.io/distribution.source.<host>` label: the repositories (sorted, comma
 * separated) a blob is known to come from on a registry, which push uses to mount blobs across
 * repositories instead of uploading them. The host is without its port, as containerd writes it.
 */
export function distributionSourceKey(ref: Pick<Reference, 'domain'>): string {
  return `containerd.io/distribution.source.${hostOnly(ref.domain)}`;
}

export function withDistributionSource(existing: Labels | undefined, ref: Pick<Reference, 'domain' | 'path'>): Labels {
  const key = distributionSourceKey(ref);
  const repos = new Set((existing?.[key] ?? '').split(',').filter(Boolean));
  repos.add(ref.path);
  const value = [...repos].sort().join(',');
  // containerd skips the label when it would pass the 4 KiB limit (very common layers).
  if (Buffer.byteLength(key) + Buffer.byteLength(value) > MAX_LABEL_BYTES) return {};
  return { [key]: value };
}

/**
 * Writes a blob through an ingest named `ref` (resumed if it exists), verified against `desc` at
 * commit, with `labels`. A blob that is already there only gets the labels.
 */
export async function writeBlob(
  ctx: Ctx,
  content: ContentStore,
  ref: string,
  desc: Descriptor,
  data: Buffer | AsyncIterable<Buffer>,
  labels: Labels = {},
): Promise<void> {
  let w;
  try {
    w = await content.writer(ctx, { ref, total: desc.size, expected: desc.digest });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    await setLabels(ctx, content, desc.digest, labels);
    return;
  }
  try {
    const st = await w.status();
    if (st.offset > 0) await w.truncate(0); // a buffer or fresh stream starts at 0
    if (Buffer.isBuffer(data)) await w.write(data);
    else for await (const c of data) await w.write(c);
    await w.commit(desc.size, desc.digest, labels);
  } catch (e) {
    if (isAlreadyExists(e)) return void (await setLabels(ctx, content, desc.digest, labels));
    await w.close().catch(() => undefined);
    throw e;
  }
}
