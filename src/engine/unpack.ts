/**
 * Makes sure an image's layers exist as committed snapshots named by their chain ids (what
 * `ctr images pull/import` leave behind, so either side's unpack serves the other), applying the
 * missing ones through the Diff applier, and labels the image config so garbage collection keeps
 * the chain (containerd's unpacker: `containerd.io/gc.ref.snapshot.<snapshotter>`).
 */
import { randomBytes } from 'node:crypto';
import type { ContentStore } from '../content/types';
import type { Ctx } from '../core/context';
import { dataLoss, isAlreadyExists, isNotFound } from '../core/errors';
import type { Descriptor, Mount } from '../core/types';
import type { LeaseStore } from '../metadata/leases';
import type { NamespacedSnapshotter } from '../metadata/snapshots';
import type { ResolvedImage } from './image';
import { withLease } from './lease';

export interface LayerApplier {
  /** Applies a layer blob onto the mounts; returns the uncompressed tar's descriptor (the diff_id). */
  apply(ctx: Ctx, desc: Descriptor, mounts: readonly Mount[]): Promise<Descriptor>;
}

export interface UnpackDeps {
  snapshotter: NamespacedSnapshotter;
  snapshotterName: string;
  applier: LayerApplier;
  content: ContentStore;
  leases: LeaseStore;
}

const exists = (sn: NamespacedSnapshotter, ctx: Ctx, key: string) =>
  sn.stat(ctx, key).then(
    () => true,
    (e) => (isNotFound(e) ? false : Promise.reject(e)),
  );

/** Returns the top chain id ('' for an image without layers). */
export async function ensureUnpacked(ctx: Ctx, img: ResolvedImage, d: UnpackDeps): Promise<string> {
  const chain = img.chainIds;
  if (chain.length === 0) return '';
  const top = chain[chain.length - 1]!;
  let have = chain.length;
  while (have > 0 && !(await exists(d.snapshotter, ctx, chain[have - 1]!))) have--;
  const label = `containerd.io/gc.ref.snapshot.${d.snapshotterName}`;
  if (have === chain.length) {
    const info = await d.content.info(ctx, img.configDesc.digest);
    if (info.labels[label] === top) return top;
  }
  await withLease(d.leases, ctx, 'unpack', async (lctx) => {
    for (let i = have; i < chain.length; i++) {
      const key = `extract-${randomBytes(6).toString('hex')}-${chain[i]}`;
      const mounts = await d.snapshotter.prepare(lctx, key, i > 0 ? chain[i - 1] : undefined);
      try {
        const applied = await d.applier.apply(lctx, img.manifest.layers[i]!, mounts);
        const want = img.config.rootfs.diff_ids[i];
        if (applied.digest !== want) throw dataLoss(`image ${img.record.name}: layer ${i} unpacked to ${applied.digest}, its config says ${want}`);
        await d.snapshotter.commit(lctx, chain[i]!, key).catch((e) => (isAlreadyExists(e) ? undefined : Promise.reject(e)));
      } finally {
        await d.snapshotter.remove(lctx, key).catch(() => undefined); // gone after a commit
      }
    }
    const info = await d.content.info(ctx, img.configDesc.digest);
    if (info.labels[label] !== top) await d.content.update(ctx, { digest: img.configDesc.digest, labels: { [label]: top } }, [`labels.${label}`]);
  });
  return top;
}
