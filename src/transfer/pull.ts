import type { Ctx } from '../core/context';
import { notFound } from '../core/errors';
import type { Descriptor, Labels, Platform } from '../core/types';
import type { Image } from '../images/types';
import { parseConfig, type ImageConfig } from '../images/manifest';
import { formatPlatform, hostPlatform, normalizePlatform, onlyPlatform } from '../images/platforms';
import { formatReference, parseReference, type CredentialsProvider } from '../remotes';
import { infoOf, readBlob, setLabels, withDistributionSource, writeBlob } from './content-io';
import { fetchToStore, ingestRef, type FetchContext } from './fetch';
import { operationLease, type OperationLease } from './lease';
import { childAbort, deferred, type Deferred, Limiter } from './limit';
import { planImage, type ImagePlan, type PlannedManifest } from './plan';
import { saveImage } from './save';
import type { ProgressFn, RegistryFactory, TransferStores } from './types';
import { unpackImage } from './unpack';

export interface PullRequest {
  /** What to pull: `busybox`, `127.0.0.1:5000/app:1`, `…@sha256:…`. */
  ref: string;
  /** The image name to store; default the normalised reference. */
  name?: string;
  /** Platforms to fetch (one manifest each from an index); default the host's. */
  platforms?: Platform[];
  /** Every platform an index lists (containerd's --all-platforms). */
  allPlatforms?: boolean;
  /** Unpack into snapshots (default true): the first selected manifest that matches `unpackPlatform`. */
  unpack?: boolean;
  /** Default: the first of `platforms`, else the host's. */
  unpackPlatform?: Platform;
  snapshotter?: string;
  labels?: Labels;
  /** Per-pull credentials (the Transfer client's auth stream), before the daemon's own. */
  credentials?: CredentialsProvider;
  onProgress?: ProgressFn;
  /** Concurrent blob downloads (default: the puller's, 3). */
  concurrency?: number;
}

export interface PullResult {
  image: Image;
  /** Blobs downloaded (not found in the content store). */
  fetched: number;
  unpacked?: { snapshotter: string; chainId: string; platform: Platform };
}

export interface PullerOptions {
  registry: RegistryFactory;
  concurrency?: number;
  leaseExpiryMs?: number;
}

/**
 * pull = resolve → the manifest tree (platform selection) → configs → layers downloaded
 * concurrently into resumable ingests → unpack (each layer as soon as it is in) → the image
 * record, all under one lease; see lease.ts for what a failure leaves (no image, the lease with
 * what was committed, the partial ingests).
 */
export async function pull(ctx: Ctx, stores: TransferStores, o: PullerOptions, req: PullRequest): Promise<PullResult> {
  const ref = parseReference(req.ref);
  const name = req.name ?? formatReference(ref);
  const progress = req.onProgress;
  const client = o.registry(req.credentials);
  const { controller, dispose } = childAbort(ctx.signal);
  const op: Ctx = { ...ctx, signal: controller.signal };
  let lease: OperationLease | undefined;
  try {
    const repo = client.repository(ref);
    progress?.({ event: 'resolving', name: formatReference(ref) });
    const root = await repo.resolve({ signal: op.signal });
    progress?.({ event: 'resolved', name: formatReference(ref), desc: root });
    lease = await operationLease(op, stores.leases, `pull\0${ctx.ns}\0${name}\0${root.digest}`, o.leaseExpiryMs);
    const lctx: Ctx = { ...op, lease: lease.id };
    const f: FetchContext = { content: stores.content, leases: stores.leases, repo, lease: lease.id, onProgress: progress };

    const explicit = !!req.platforms?.length;
    const platforms = explicit ? req.platforms!.map(normalizePlatform) : [hostPlatform()];
    const plan = await planImage(root, (d) => document(lctx, f, d), { all: req.allPlatforms, platforms }, `pull ${formatReference(ref)}`);
    for (const doc of plan.docs) await storeDocument(lctx, f, doc.desc, doc.data, doc.gcLabels);

    const configs = new Map<string, ImageConfig>();
    for (const m of plan.manifests) {
      await fetchToStore(lctx, f, m.config);
      configs.set(m.desc.digest, parseConfig(`image config ${m.config.digest}`, await readBlob(lctx, stores.content, m.config, 'image config')));
    }
    const unpackPlatform = normalizePlatform(req.unpackPlatform ?? platforms[0]!);
    const target = pickUnpackTarget(plan, configs, unpackPlatform, explicit && !req.allPlatforms && plan.root.digest === plan.manifests[0]?.desc.digest);

    const fetched = await downloadAndUnpack(lctx, stores, f, plan, { req, o, configs, target, unpackPlatform, controller });
    const image = await saveImage(lctx, stores, { name, target: { mediaType: root.mediaType, digest: root.digest, size: root.size }, labels: req.labels ?? {} });
    progress?.({ event: 'saved', name, desc: root });
    await lease.release();
    return { image, fetched: fetched.count, ...(fetched.unpacked ? { unpacked: fetched.unpacked } : {}) };
  } catch (e) {
    controller.abort();
    await lease?.keepForResume();
    throw e;
  } finally {
    dispose();
    client.close();
  }
}

/** An index or manifest: from the content store when it is there, else the registry (verified). */
async function document(ctx: Ctx, f: FetchContext, d: Descriptor): Promise<Buffer> {
  if (await infoOf(ctx, f.content, d.digest)) return readBlob(ctx, f.content, d, 'manifest');
  f.onProgress?.({ event: 'downloading', name: d.digest, desc: d, progress: 0, total: d.size });
  return f.repo.fetchManifest(d, { signal: ctx.signal });
}

async function storeDocument(ctx: Ctx, f: FetchContext, desc: Descriptor, data: Buffer, gcLabels: Labels): Promise<void> {
  const info = await infoOf(ctx, f.content, desc.digest);
  const labels = { ...gcLabels, ...withDistributionSource(info?.labels, f.repo.ref) };
  if (info) {
    await setLabels(ctx, f.content, desc.digest, labels);
    if (f.lease) await f.leases.addResource(ctx, f.lease, { type: 'content', id: desc.digest });
  } else await writeBlob(ctx, f.content, ingestRef(desc), desc, data, labels);
  f.onProgress?.({ event: 'complete', name: desc.digest, desc, progress: desc.size, total: desc.size });
}

/**
 * The manifest to unpack: the first whose config matches the unpack platform (containerd unpacks
 * the first match). A single-manifest image for another platform than one asked for explicitly
 * is NotFound, as Docker answers `--platform` (containerd would unpack it anyway).
 */
function pickUnpackTarget(plan: ImagePlan, configs: Map<string, ImageConfig>, platform: Platform, strict: boolean): PlannedManifest | undefined {
  const m = onlyPlatform(platform);
  const hit = plan.manifests.find((x) => m.match(normalizePlatform(configs.get(x.desc.digest)!.platform)));
  if (!hit && strict) {
    const got = configs.get(plan.manifests[0]!.desc.digest)!.platform;
    throw notFound(`no match for platform in manifest ${plan.root.digest}: the image is ${formatPlatform(normalizePlatform(got))}, wanted ${formatPlatform(platform)}`);
  }
  return hit;
}

interface DownloadPlan {
  req: PullRequest;
  o: PullerOptions;
  configs: Map<string, ImageConfig>;
  target?: PlannedManifest;
  unpackPlatform: Platform;
  controller: AbortController;
}

/** All layers through a limiter, and the unpack of the target manifest alongside. */
async function downloadAndUnpack(ctx: Ctx, stores: TransferStores, f: FetchContext, plan: ImagePlan, d: DownloadPlan): Promise<{ count: number; unpacked?: PullResult['unpacked'] }> {
  const limiter = new Limiter(d.req.concurrency ?? d.o.concurrency ?? 3);
  const ready = new Map<string, Deferred<void>>();
  const layers: Descriptor[] = [];
  for (const m of plan.manifests) {
    for (const l of m.layers) {
      if (ready.has(l.digest)) continue;
      ready.set(l.digest, deferred<void>());
      layers.push(l);
    }
  }
  let count = 0;
  // The target's layers first, in order: unpacking waits for them one by one.
  const seen = new Set<string>();
  const order = [...(d.target?.layers ?? []), ...layers].filter((l) => !seen.has(l.digest) && !!seen.add(l.digest));
  for (const l of order) f.onProgress?.({ event: 'waiting', name: l.digest, desc: l, progress: 0, total: l.size });
  const downloads = order.map((l) =>
      limiter
        .run(() => fetchToStore(ctx, f, l))
        .then(
          (r) => {
            if (r === 'fetched') count++;
            ready.get(l.digest)!.resolve();
          },
          (e) => {
            ready.get(l.digest)!.reject(e);
            d.controller.abort(); // one failure stops the rest
            throw e;
          },
        ),
    );
  let unpacked: PullResult['unpacked'];
  const unpacking = (async () => {
    if (d.req.unpack === false || !d.target) return;
    const t = d.target;
    const snapshotter = d.req.snapshotter ?? (await stores.defaultSnapshotter(ctx));
    const chainId = await unpackImage(
      ctx,
      stores,
      { config: t.config, image: d.configs.get(t.desc.digest)!, layers: t.layers, snapshotter, lease: ctx.lease, layerReady: (i) => ready.get(t.layers[i]!.digest)!.promise },
      f.onProgress,
    );
    unpacked = { snapshotter, chainId, platform: d.unpackPlatform };
  })();
  unpacking.catch(() => d.controller.abort());
  const results = await Promise.allSettled([...downloads, unpacking]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !isAbortFallout(r.reason, ctx));
  if (failed) throw failed.reason;
  const any = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (any) throw any.reason;
  return { count, unpacked };
}

/** A Canceled error caused by our own abort after another task failed: not the one to report. */
function isAbortFallout(e: unknown, ctx: Ctx): boolean {
  return (e as { kind?: string })?.kind === 'Canceled' && !!ctx.signal?.aborted;
}

