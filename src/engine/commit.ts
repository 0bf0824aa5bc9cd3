/**
 * `commit`: a container's changes become a new image. The change set comes from the Diff
 * service's compute side (the container's snapshot against its parent: for overlay just its
 * upper dir), as a gzip layer; the new config is the base image's with the container's Config, one
 * more diff_id and a history entry (Docker's commit); the manifest keeps the base's layers plus
 * the new one. Everything is written under a lease and tied together with containerd's gc.ref
 * labels before the image record points at it.
 */
import type { ContentStore } from '../content/types';
import type { Ctx } from '../core/context';
import { sha256Of } from '../core/digest';
import { internal, isAlreadyExists, notFound } from '../core/errors';
import type { Descriptor, Labels, Mount } from '../core/types';
import type { EngineDeps } from './deps';
import type { EngineEvents } from './events';
import { ImageResolver, MEDIA, normalizeReference, type ImageConfigJson, type ManifestJson } from './image';
import { withLease } from './lease';
import type { EngineRecord } from './record';
import type { CommitOptions, CommitResult } from './types';

export interface LayerDiffer {
  compare(
    ctx: Ctx,
    lower: readonly Mount[],
    upper: readonly Mount[],
    opts?: { mediaType?: string; ref?: string; labels?: Labels },
  ): Promise<{ desc: Descriptor; diffId: string }>;
}

const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

async function putBlob(content: ContentStore, ctx: Ctx, data: Buffer, labels: Labels): Promise<string> {
  const digest = sha256Of(data);
  const w = await content.writer(ctx, { ref: `commit-${digest}`, expected: digest, total: data.length });
  try {
    await w.write(data);
    await w.commit(data.length, digest, labels);
  } catch (e) {
    await w.close().catch(() => undefined);
    if (!isAlreadyExists(e)) throw e;
    if (Object.keys(labels).length)
      await content.update(
        ctx,
        { digest, labels },
        Object.keys(labels).map((k) => `labels.${k}`),
      );
  }
  return digest;
}

/** Docker's commit config: the image's, with the container's Config taking its place. */
function commitConfig(base: ImageConfigJson, r: EngineRecord, diffId: string, o: CommitOptions, now: string): ImageConfigJson {
  const c = r.config;
  return {
    ...base,
    created: now,
    ...(o.author ? { author: o.author } : {}),
    config: {
      ...(base.config ?? {}),
      User: c.user,
      Env: c.env,
      Cmd: c.cmd.length ? c.cmd : null,
      Entrypoint: c.entrypoint.length ? c.entrypoint : null,
      WorkingDir: c.workingDir,
      Labels: Object.keys(c.labels).length ? c.labels : null,
      ExposedPorts: c.exposedPorts.length ? Object.fromEntries(c.exposedPorts.map((p) => [p, {}])) : undefined,
      Volumes: c.volumes.length ? Object.fromEntries(c.volumes.map((v) => [v, {}])) : undefined,
      StopSignal: c.stopSignal === 'SIGTERM' ? base.config?.StopSignal : c.stopSignal,
    },
    rootfs: { type: 'layers', diff_ids: [...(base.rootfs?.diff_ids ?? []), diffId] },
    history: [
      ...(base.history ?? []),
      { created: now, created_by: [r.path, ...r.args].join(' '), ...(o.comment ? { comment: o.comment } : {}), ...(o.author ? { author: o.author } : {}) },
    ],
  };
}

/**
 * Stores an image: its config, a manifest over `layers` (their blobs already in the content store,
 * tied to it by containerd's gc.ref labels) and the image record, named `reference` or else by its
 * id (a dangling image). Call under a lease (`ctx.lease`): nothing refers to the blobs until the
 * record exists.
 */
export async function writeImage(
  d: Pick<EngineDeps, 'content' | 'images'>,
  ctx: Ctx,
  o: { config: ImageConfigJson; layers: readonly Descriptor[]; docker: boolean; reference?: string },
): Promise<{ imageId: string; name: string }> {
  const config = Buffer.from(JSON.stringify(o.config));
  const configDigest = await putBlob(d.content, ctx, config, {});
  const mediaType = o.docker ? MEDIA.dockerManifest : MEDIA.ociManifest;
  const manifest: ManifestJson = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: o.docker ? MEDIA.dockerConfig : MEDIA.ociConfig, digest: configDigest, size: config.length },
    layers: o.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const mbytes = Buffer.from(JSON.stringify(manifest));
  const refs: Labels = { 'containerd.io/gc.ref.content.config': configDigest };
  o.layers.forEach((l, i) => (refs[`containerd.io/gc.ref.content.l.${i}`] = l.digest));
  const manifestDigest = await putBlob(d.content, ctx, mbytes, refs);
  const name = o.reference ? normalizeReference(o.reference) : configDigest;
  const image = { name, labels: {}, target: { mediaType, digest: manifestDigest, size: mbytes.length } };
  await d.images.create(ctx, image).catch((e) => (isAlreadyExists(e) ? d.images.update(ctx, image) : Promise.reject(e)));
  return { imageId: configDigest, name };
}

export async function commitContainer(d: EngineDeps, events: EngineEvents, ctx: Ctx, r: EngineRecord, o: CommitOptions): Promise<CommitResult> {
  if (!d.differ) throw internal('commit: no differ wired (the diff slice has no content store)');
  const differ = d.differ;
  const sn = d.snapshotters.get(r.snapshotter);
  if (!sn) throw notFound(`snapshotter ${r.snapshotter}: not found`);
  const resolver = new ImageResolver(d.images, d.content);
  const base = await resolver.readJson<ImageConfigJson>(ctx, { digest: r.imageId }, 'image config').catch((e) => {
    throw notFound(`commit ${r.name}: the image config ${r.imageId} is gone (image removed?)`, { cause: e });
  });
  const baseManifest = await resolver
    .record(ctx, r.imageId)
    .then((img) => resolver.manifestOf(ctx, img.target))
    .catch((e) => {
      throw notFound(`commit ${r.name}: no image with id ${r.imageId} any more (its layers are needed)`, { cause: e });
    });
  const pause = (o.pause ?? true) && r.state.status === 'running';
  if (pause) await d.tasks.pause(ctx, r.id);
  try {
    return await withLease(d.leases, ctx, 'commit', async (lctx) => {
      const info = await sn.stat(lctx, r.snapshotKey);
      const upper = await sn.mounts(lctx, r.snapshotKey);
      const viewKey = `commit-view-${r.id}-${Date.now()}`;
      const lower = info.parent ? await sn.view(lctx, viewKey, info.parent) : [];
      let layer: { desc: Descriptor; diffId: string };
      try {
        layer = await differ.compare(lctx, lower, upper, {});
      } finally {
        if (info.parent) await sn.remove(lctx, viewKey).catch(() => undefined);
      }
      const docker = baseManifest.manifest.mediaType === MEDIA.dockerManifest || baseManifest.desc.mediaType === MEDIA.dockerManifest;
      const layerDesc: Descriptor = { ...layer.desc, mediaType: docker ? DOCKER_LAYER_GZIP : layer.desc.mediaType };
      const now = new Date().toISOString();
      const { imageId: configDigest, name } = await writeImage(d, lctx, {
        config: commitConfig(base, r, layer.diffId, o, now),
        layers: [...baseManifest.manifest.layers, layerDesc],
        docker,
        reference: o.reference,
      });
      events.publish(ctx.ns, 'commit', r, { comment: o.comment ?? '', imageID: configDigest });
      return { imageId: configDigest, name };
    });
  } finally {
    if (pause) await d.tasks.resume(ctx, r.id).catch(() => undefined);
  }
}
