import type { Ctx } from '../core/context';
import type { Descriptor, Platform } from '../core/types';
import { isNonDistributable } from '../images/media-types';
import { normalizePlatform } from '../images/platforms';
import { formatReference, parseReference, type CredentialsProvider, type Reference, type Repository } from '../remotes';
import { distributionSourceKey, infoOf, readBlob, setLabels, withDistributionSource } from './content-io';
import { Limiter } from '../core/limiter';
import { childAbort } from './limit';
import { planImage } from './plan';
import type { ProgressFn, RegistryFactory, TransferStores } from './types';

export interface PushRequest {
  /** The local image to push. */
  name: string;
  /** Where to: default the image's own name. A tag or a digest names the root. */
  ref?: string;
  /** Only these platforms of an index (default: every one the index lists, which must all be here). */
  platforms?: Platform[];
  credentials?: CredentialsProvider;
  /** Extra registry request headers. */
  headers?: Record<string, string>;
  /** Plain HTTP to the registry even where HTTPS is the default (ctr's --plain-http). */
  plainHttp?: boolean;
  /** Upload blobs in PATCH chunks of this size (default: one monolithic PUT each). */
  chunkSize?: number;
  concurrency?: number;
  onProgress?: ProgressFn;
}

export interface PushResult {
  ref: string;
  desc: Descriptor;
  /** Blobs sent, mounted from another repository, and already there. */
  uploaded: number;
  mounted: number;
  skipped: number;
}

/**
 * containerd's mount candidate (selectRepositoryMountCandidate): of the repositories the blob's
 * distribution-source label names on the same registry, the one sharing the most leading path
 * components with the target (never the target itself).
 */
export function mountCandidate(labels: Record<string, string>, target: Reference): string | undefined {
  const repos = (labels[distributionSourceKey(target)] ?? '').split(',').filter(Boolean);
  const want = target.path.split('/');
  let best: string | undefined;
  let bestN = -1;
  for (const r of repos) {
    if (r === target.path) continue;
    const parts = r.split('/');
    let n = 0;
    while (n < want.length && n < parts.length && want[n] === parts[n]) n++;
    if (n >= bestN) {
      bestN = n;
      best = r;
    }
  }
  return best;
}

/**
 * push = the image's tree from the content store (every platform of an index unless some are
 * asked for) → blobs concurrently (HEAD first; a cross-repository mount when the blob came from
 * another repository of the same registry; else an upload) → manifests children first → the
 * root under the tag (or its digest). Pushed blobs get the target's distribution-source label.
 */
export async function push(ctx: Ctx, stores: TransferStores, o: { registry: RegistryFactory; concurrency?: number }, req: PushRequest): Promise<PushResult> {
  const image = await stores.images.get(ctx, req.name);
  const target = parseReference(req.ref ?? req.name);
  const progress = req.onProgress;
  const client = o.registry({ credentials: req.credentials, headers: req.headers, plainHttp: req.plainHttp });
  const { controller, dispose } = childAbort(ctx.signal);
  const op: Ctx = { ...ctx, signal: controller.signal };
  const result: PushResult = { ref: formatReference(target), desc: image.target, uploaded: 0, mounted: 0, skipped: 0 };
  try {
    const repo = client.repository(target);
    const choice = req.platforms?.length ? { platforms: req.platforms.map(normalizePlatform) } : { all: true, platforms: [] };
    const plan = await planImage(image.target, (d) => readBlob(op, stores.content, d, 'manifest'), choice, `push ${req.name}`);
    const blobs = new Map<string, Descriptor>();
    for (const m of plan.manifests) for (const b of [m.config, ...m.layers]) if (!isNonDistributable(b.mediaType)) blobs.set(b.digest, b);
    const limiter = new Limiter(req.concurrency ?? o.concurrency ?? 3);
    const sends = [...blobs.values()].map((b) =>
      limiter.run(async () => {
        const how = await pushBlob(op, stores, repo, target, b, req);
        result[how]++;
        progress?.({
          event: how === 'skipped' ? 'exists' : how === 'mounted' ? 'mounted' : 'complete',
          name: b.digest,
          desc: b,
          progress: b.size,
          total: b.size,
        });
      }),
    );
    const settled = await Promise.allSettled(sends);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    // Children before parents: plan.docs lists parents first.
    for (const doc of [...plan.docs].reverse()) {
      const isRoot = doc.desc.digest === image.target.digest;
      const object = isRoot && target.tag && !target.digest ? target.tag : doc.desc.digest;
      await repo.pushManifest(doc.desc, doc.data, object, { signal: op.signal });
      await labelSource(op, stores, target, doc.desc.digest);
      progress?.({ event: 'complete', name: doc.desc.digest, desc: doc.desc, progress: doc.desc.size, total: doc.desc.size });
    }
    progress?.({ event: 'saved', name: result.ref, desc: image.target });
    return result;
  } catch (e) {
    controller.abort();
    throw e;
  } finally {
    dispose();
    client.close();
  }
}

async function pushBlob(
  ctx: Ctx,
  stores: TransferStores,
  repo: Repository,
  target: Reference,
  b: Descriptor,
  req: PushRequest,
): Promise<'uploaded' | 'mounted' | 'skipped'> {
  if (await repo.blobExists(b, { signal: ctx.signal })) return 'skipped';
  const info = await infoOf(ctx, stores.content, b.digest);
  const from = info ? mountCandidate(info.labels, target) : undefined;
  let location: URL | undefined;
  if (from) {
    const m = await repo.mountBlob(b, from, { signal: ctx.signal });
    if (m.mounted) {
      await labelSource(ctx, stores, target, b.digest);
      return 'mounted';
    }
    location = m.location;
  }
  req.onProgress?.({ event: 'uploading', name: b.digest, desc: b, progress: 0, total: b.size });
  await repo.pushBlob(b, (offset) => stores.content.read(ctx, b.digest, { offset }), {
    chunkSize: req.chunkSize,
    location,
    signal: ctx.signal,
    onProgress: (n) => req.onProgress?.({ event: 'uploading', name: b.digest, desc: b, progress: n, total: b.size }),
  });
  await labelSource(ctx, stores, target, b.digest);
  return 'uploaded';
}

/** The blob now also lives in the target repository: later pushes may mount it from there. */
async function labelSource(ctx: Ctx, stores: TransferStores, target: Reference, digest: string): Promise<void> {
  const info = await infoOf(ctx, stores.content, digest);
  if (info) await setLabels(ctx, stores.content, digest, withDistributionSource(info.labels, target));
}
