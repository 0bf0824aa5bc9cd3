import type { Ctx } from '../core/context';
import { isResourceExhausted, notFound } from '../core/errors';
import type { Descriptor, Labels, Platform } from '../core/types';
import type { Image } from '../images/types';
import { parseConfig, type ImageConfig } from '../images/manifest';
import { formatPlatform, hostPlatform, normalizePlatform, onlyPlatform } from '../images/platforms';
import { formatReference, parseReference, type CredentialsProvider } from '../remotes';
import { infoOf, readBlob, setLabels, withDistributionSource, writeBlob } from './content-io';
import { fetchToStore, ingestRef, type FetchContext } from './fetch';
import { operationLease, type OperationLease } from './lease';
import { Limiter } from '../core/limiter';
import { childAbort, deferred, type Deferred } from './limit';
import { planImage, type ImagePlan, type PlannedManifest } from './plan';
import { imageNames, type ImageReference } from './naming';
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
  /**
   * Several unpacks (containerd's ImageStore.unpacks): each unpacks the first selected manifest
   * matching its platform (default the host's) into its snapshotter (default the namespace's).
   * When given, `unpack`, `unpackPlatform` and `snapshotter` are not used; an empty list unpacks nothing.
   */
  unpacks?: UnpackRequest[];
  /** containerd's all_metadata: every manifest and config of an index, layers only of the platforms selected. */
  allMetadata?: boolean;
  /** At most this many manifests of an index (containerd's manifest_limit). */
  manifestLimit?: number;
  /** More names for the image (containerd's ImageStore extra_references; see naming.ts). */
  extraReferences?: ImageReference[];
  labels?: Labels;
  /** Per-pull credentials (the Transfer client's auth stream), before the daemon's own. */
  credentials?: CredentialsProvider;
  /** Extra registry request headers. */
  headers?: Record<string, string>;
  /** Plain HTTP to the registry even where HTTPS is the default (ctr's --plain-http). */
  plainHttp?: boolean;
  onProgress?: ProgressFn;
  /** Concurrent blob downloads (default: the puller's, 3). */
  concurrency?: number;
}

export interface UnpackRequest {
  platform?: Platform;
  snapshotter?: string;
}

export interface Unpacked {
  snapshotter: string;
  chainId: string;
  platform: Platform;
}

export interface PullResult {
  image: Image;
  /** Every name stored (the image's first, then extra references). */
  images: Image[];
  /** Blobs downloaded (not found in the content store). */
  fetched: number;
  /** The first unpack's result (there is one per entry of `unpacks`). */
  unpacked?: Unpacked;
  unpacks: Unpacked[];
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
  const client = o.registry({ credentials: req.credentials, headers: req.headers, plainHttp: req.plainHttp });
  const { controller, dispose } = childAbort(ctx.signal);
  const op: Ctx = { ...ctx, signal: controller.signal };
  let lease: OperationLease | undefined;
  try {
    const repo = client.repository(ref);
    progress?.({ event: 'resolving', name: formatReference(ref) });
    const root = await repo.resolve({ signal: op.signal });
    progress?.({ event: 'resolved', name: formatReference(ref), desc: root });
    lease = await operationLease(op, stores, `pull\0${ctx.ns}\0${name}\0${root.digest}`, o.leaseExpiryMs);
    const lctx: Ctx = { ...op, lease: lease.id };
    const f: FetchContext = { content: stores.content, leases: stores.leases, repo, lease: lease.id, onProgress: progress };

    const explicit = !!req.platforms?.length;
    const platforms = explicit ? req.platforms!.map(normalizePlatform) : [hostPlatform()];
    const choice = { all: req.allPlatforms, platforms, allMetadata: req.allMetadata, limit: req.manifestLimit };
    const plan = await planImage(root, (d) => document(lctx, f, d), choice, `pull ${formatReference(ref)}`);
    const parents = parentsOf(plan, name);
    f.onProgress = progress && ((p) => progress(p.desc && !p.parents ? { ...p, parents: parents.get(p.desc.digest) ?? [name] } : p));
    for (const doc of plan.docs) await storeDocument(lctx, f, doc.desc, doc.data, doc.gcLabels);

    const configs = new Map<string, ImageConfig>();
    await Promise.all(
      plan.manifests.map(async (m) => {
        await fetchToStore(lctx, f, m.config);
        configs.set(m.desc.digest, parseConfig(`image config ${m.config.digest}`, await readBlob(lctx, stores.content, m.config, 'image config')));
      }),
    );
    const wanted: Array<Required<UnpackRequest>> = [];
    if (req.unpacks)
      for (const u of req.unpacks)
        wanted.push({ platform: normalizePlatform(u.platform ?? platforms[0]!), snapshotter: u.snapshotter || (await stores.defaultSnapshotter(lctx)) });
    else if (req.unpack !== false)
      wanted.push({
        platform: normalizePlatform(req.unpackPlatform ?? platforms[0]!),
        snapshotter: req.snapshotter || (await stores.defaultSnapshotter(lctx)),
      });
    const strict = explicit && !req.allPlatforms && plan.root.digest === plan.manifests[0]?.desc.digest;
    const targets: UnpackTarget[] = [];
    for (const u of wanted) {
      const m = pickUnpackTarget(plan, configs, u.platform, strict);
      if (m && !targets.some((t) => t.manifest.desc.digest === m.desc.digest && t.snapshotter === u.snapshotter)) targets.push({ manifest: m, ...u });
    }

    const fetched = await downloadAndUnpack(lctx, stores, f, plan, { req, o, configs, targets, controller });
    const desc = { mediaType: root.mediaType, digest: root.digest, size: root.size };
    const saved: Image[] = [];
    for (const n of imageNames({ name, labels: req.labels ?? {}, extraReferences: req.extraReferences }, desc, false)) {
      saved.push(await saveImage(lctx, stores, { name: n.name, target: desc, labels: n.labels }));
      progress?.({ event: 'saved', name: n.name, desc: root });
    }
    await lease.release();
    return {
      image: saved[0]!,
      images: saved,
      fetched: fetched.count,
      unpacks: fetched.unpacked,
      ...(fetched.unpacked[0] ? { unpacked: fetched.unpacked[0] } : {}),
    };
  } catch (e) {
    controller.abort();
    // Out of space: what the lease holds is what filled the disk, and a retry cannot succeed
    // before space is freed, so it all goes now. Any other failure keeps it for a retry to resume.
    if (isResourceExhausted(e)) await lease?.release({ now: true }).catch(() => undefined);
    else await lease?.keepForResume();
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

/** Each blob's parents in the tree (digests), the root's being the image name: for progress. */
function parentsOf(plan: ImagePlan, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>([[plan.root.digest, [name]]]);
  for (const doc of plan.docs) for (const c of doc.children) out.set(c.digest, [...new Set([...(out.get(c.digest) ?? []), doc.desc.digest])]);
  return out;
}

/**
 * The manifest to unpack: the first whose config matches the unpack platform (containerd unpacks
 * the first match). A single-manifest image for another platform than one asked for explicitly
 * is NotFound, as Docker answers `--platform` (containerd would unpack it anyway).
 */
function pickUnpackTarget(plan: ImagePlan, configs: Map<string, ImageConfig>, platform: Platform, strict: boolean): PlannedManifest | undefined {
  const m = onlyPlatform(platform);
  const hit = plan.manifests.find((x) => !x.metadataOnly && m.match(normalizePlatform(configs.get(x.desc.digest)!.platform)));
  if (!hit && strict) {
    const got = configs.get(plan.manifests[0]!.desc.digest)!.platform;
    throw notFound(
      `no match for platform in manifest ${plan.root.digest}: the image is ${formatPlatform(normalizePlatform(got))}, wanted ${formatPlatform(platform)}`,
    );
  }
  return hit;
}

interface UnpackTarget {
  manifest: PlannedManifest;
  platform: Platform;
  snapshotter: string;
}

interface DownloadPlan {
  req: PullRequest;
  o: PullerOptions;
  configs: Map<string, ImageConfig>;
  targets: UnpackTarget[];
  controller: AbortController;
}

/** All layers through a limiter, and the unpack of each target manifest alongside. */
async function downloadAndUnpack(
  ctx: Ctx,
  stores: TransferStores,
  f: FetchContext,
  plan: ImagePlan,
  d: DownloadPlan,
): Promise<{ count: number; unpacked: Unpacked[] }> {
  const limiter = new Limiter(d.req.concurrency ?? d.o.concurrency ?? 3);
  const ready = new Map<string, Deferred<void>>();
  const layers: Descriptor[] = [];
  for (const m of plan.manifests) {
    if (m.metadataOnly) continue;
    for (const l of m.layers) {
      if (ready.has(l.digest)) continue;
      ready.set(l.digest, deferred<void>());
      layers.push(l);
    }
  }
  let count = 0;
  // The targets' layers first, in order: unpacking waits for them one by one.
  const seen = new Set<string>();
  const order = [...d.targets.flatMap((t) => t.manifest.layers), ...layers].filter((l) => !seen.has(l.digest) && !!seen.add(l.digest));
  for (const l of order) f.onProgress?.({ event: 'waiting', name: l.digest, desc: l, progress: 0, total: l.size });
  const downloads = order.map((l) =>
    limiter
      // The slot limits downloads: the next one starts while this one commits (fsync).
      .run((release) => fetchToStore(ctx, f, l, { received: release }))
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
  const unpacked: Unpacked[] = [];
  const unpacking = (async () => {
    for (const t of d.targets) {
      const m = t.manifest;
      const job = {
        config: m.config,
        image: d.configs.get(m.desc.digest)!,
        layers: m.layers,
        snapshotter: t.snapshotter,
        lease: ctx.lease,
        layerReady: (i: number) => ready.get(m.layers[i]!.digest)!.promise,
      };
      const chainId = await unpackImage(ctx, stores, job, f.onProgress);
      unpacked.push({ snapshotter: t.snapshotter, chainId, platform: t.platform });
    }
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
