import { randomBytes } from 'node:crypto';
import type { Ctx } from '../core/context';
import { failedPrecondition, invalidArgument, isAlreadyExists, isNotFound } from '../core/errors';
import type { Descriptor, Labels } from '../core/types';
import { chainIds } from '../images/identity';
import type { ImageConfig } from '../images/manifest';
import { setLabels } from './content-io';
import type { ProgressFn, TransferStores } from './types';

/**
 * Unpacks an image's layers into snapshots the way containerd's unpacker does, so ctr and GC see
 * the same result: each layer's snapshot is named by its chain ID (an existing one is reused);
 * it is prepared as `extract-<nanos>-<rand> <chainID>` on its parent with the label
 * `containerd.io/snapshot.ref=<chainID>` (plus the layer's `containerd.io/snapshot/*`
 * annotations), the layer is applied and its diff ID checked against the config, and it is
 * committed. Then the layer blob gets `containerd.io/uncompressed=<diffID>` and the config
 * `containerd.io/gc.ref.snapshot.<snapshotter>=<top chainID>`, which keeps the snapshots alive
 * for as long as the image is. Layers are applied in order, each as soon as its blob is in the
 * content store (`layerReady`), so unpacking overlaps the downloads.
 */
export const LABEL_SNAPSHOT_REF = 'containerd.io/snapshot.ref';
export const LABEL_UNCOMPRESSED = 'containerd.io/uncompressed';
const INHERITED_PREFIX = 'containerd.io/snapshot/';

export interface UnpackJob {
  config: Descriptor;
  image: ImageConfig;
  layers: Descriptor[];
  snapshotter: string;
  /** Resolves once layer i is committed in the content store. */
  layerReady?: (i: number) => Promise<void>;
  /** The operation's lease, to hold snapshots that already existed. */
  lease?: string;
}

function unpackKey(chainId: string): string {
  const nanos = Number(process.hrtime.bigint() % 1_000_000_000n);
  return `extract-${nanos}-${randomBytes(3).toString('base64url')} ${chainId}`;
}

/** Returns the top chain ID. */
export async function unpackImage(ctx: Ctx, stores: TransferStores, job: UnpackJob, onProgress?: ProgressFn): Promise<string> {
  const sn = stores.snapshotters.get(job.snapshotter);
  if (!sn) throw invalidArgument(`unpack: snapshotter ${JSON.stringify(job.snapshotter)} does not exist (have ${[...stores.snapshotters.keys()].join(', ')})`);
  const diffIds = job.image.diffIds;
  if (diffIds.length !== job.layers.length)
    throw failedPrecondition(`image config ${job.config.digest}: ${diffIds.length} diff IDs for ${job.layers.length} layers`);
  const chain = chainIds(diffIds);
  for (let i = 0; i < job.layers.length; i++) {
    const layer = job.layers[i]!;
    const chainId = chain[i]!;
    const parent = i > 0 ? chain[i - 1] : undefined;
    if (await exists(ctx, sn, chainId)) {
      if (job.lease) await stores.leases.addResource(ctx, job.lease, { type: `snapshots/${job.snapshotter}`, id: chainId });
      onProgress?.({ event: 'exists', name: chainId, desc: layer });
      continue;
    }
    const labels: Labels = { [LABEL_SNAPSHOT_REF]: chainId };
    for (const [k, v] of Object.entries(layer.annotations ?? {})) if (k.startsWith(INHERITED_PREFIX)) labels[k] = v;
    let key: string;
    let mounts;
    for (let attempt = 1; ; attempt++) {
      key = unpackKey(chainId);
      try {
        mounts = await sn.prepare(ctx, key, parent, labels);
        break;
      } catch (e) {
        if (!isAlreadyExists(e) || attempt >= 3) throw e;
        if (await exists(ctx, sn, chainId)) break; // unpacked meanwhile by someone else
      }
    }
    if (!mounts) continue;
    try {
      await job.layerReady?.(i);
      onProgress?.({ event: 'unpacking', name: chainId, desc: layer });
      const applied = await stores.applier.apply(ctx, layer, mounts);
      if (applied.digest !== diffIds[i])
        throw failedPrecondition(`layer ${layer.digest}: wrong diff id calculated on extraction: got ${applied.digest}, the config says ${diffIds[i]}`);
      await sn.commit(ctx, chainId, key, labels);
    } catch (e) {
      await sn.remove(ctx, key).catch(() => undefined);
      if (isAlreadyExists(e)) continue; // committed meanwhile under the same chain ID
      throw e;
    }
    await setLabels(ctx, stores.content, layer.digest, { [LABEL_UNCOMPRESSED]: diffIds[i]! });
    onProgress?.({ event: 'unpacked', name: chainId, desc: layer });
  }
  const top = chain[chain.length - 1];
  if (top) await setLabels(ctx, stores.content, job.config.digest, { [`containerd.io/gc.ref.snapshot.${job.snapshotter}`]: top });
  return top ?? '';
}

async function exists(ctx: Ctx, sn: { stat(ctx: Ctx, key: string): Promise<unknown> }, key: string): Promise<boolean> {
  try {
    await sn.stat(ctx, key);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
