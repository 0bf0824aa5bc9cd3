/**
 * `create`: image config + request → a containerd container (OCI spec, snapshot) and the
 * engine's record. The name is reserved first (with the record, phase `creating`), so a clash is
 * found before any work; every later failure undoes what was made, and a crash half-way is
 * cleaned up at the next start (restore.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { Ctx } from '../core/context';
import { errorKind, isNotFound, notFound } from '../core/errors';
import { buildConfig, processArgs } from './config';
import { etcOfJoined, prepareNetwork, specNetns } from './container-network';
import type { EngineDeps } from './deps';
import { writeEtcFiles, type EtcFiles } from './etc-files';
import { withLease } from './lease';
import type { Container } from '../containers';
import type { Mount } from '../core/types';
import type { EngineEvents } from './events';
import { ImageResolver } from './image';
import { generateName, newId, validateName } from './names';
import type { EngineRecord } from './record';
import { readRootfsFile } from './rootfs-files';
import { buildSpec } from './spec';
import type { CreateOptions } from './types';
import { ensureUnpacked } from './unpack';
import { resolveUser } from './user';
import { ociMounts, type OciMount } from './mounts/plan';
import { prepareMounts, type MountDeps } from './mounts/prepare';
import { mountRequest } from './mounts/request';
import type { MountSpec } from './mounts/types';
import { parseSize } from './units';

export const RUNTIME = 'io.containerd.runc.v2';
export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
/** containerd label that names an engine container (ctr c ls shows it). */
export const NAME_LABEL = 'io.berth.engine/name';

/** Reserves a name (generating one when none was given) with a `creating` record. */
async function reserve(d: EngineDeps, ctx: Ctx, base: Omit<EngineRecord, 'name'>, wanted?: string): Promise<EngineRecord> {
  for (let attempt = 0; ; attempt++) {
    const rec: EngineRecord = { ...base, name: wanted ?? generateName(attempt) };
    try {
      await d.records.create(ctx, rec);
      return rec;
    } catch (e) {
      if (wanted !== undefined || errorKind(e) !== 'Conflict' || attempt >= 10) throw e;
    }
  }
}

export async function createContainer(d: EngineDeps, events: EngineEvents, ctx: Ctx, o: CreateOptions): Promise<EngineRecord & { warnings: string[] }> {
  const wanted = o.name ? validateName(o.name) : undefined;
  const resolver = new ImageResolver(d.images, d.content);
  const img = await resolver.resolve(ctx, o.image);
  const id = newId();
  const built = buildConfig(o, img.config, id);
  const { config } = built;
  const { network, hostConfig, warnings } = await prepareNetwork(d, ctx, id, o, config, built.hostConfig);
  const sn = d.snapshotters.get(d.snapshotter);
  if (!sn) throw notFound(`snapshotter ${d.snapshotter}: not found`);
  const args = processArgs(config);
  const rec = await reserve(
    d,
    ctx,
    {
      version: 1,
      phase: 'creating',
      namespace: ctx.ns,
      id,
      created: new Date(),
      imageId: img.id,
      config,
      hostConfig,
      state: { status: 'created', pid: 0, exitCode: 0, error: '', oomKilled: false, restartCount: 0, manuallyStopped: false },
      path: args[0]!,
      args: args.slice(1),
      logPath: d.records.logPath(ctx.ns, id),
      hostnamePath: '',
      hostsPath: '',
      resolvConfPath: '',
      snapshotter: d.snapshotter,
      snapshotKey: id,
      network,
      mounts: [],
    },
    wanted,
  );
  const dir = d.records.dir(ctx.ns, id);
  let snapshot = false;
  let container = false;
  try {
    const top = await ensureUnpacked(ctx, img, { snapshotter: sn, snapshotterName: d.snapshotter, applier: d.applier, content: d.content, leases: d.leases });
    // Under a lease until the container record (a GC root) holds the snapshot: a collection in
    // between would take an active snapshot nothing refers to yet (containerd's client does the same).
    const made = await withLease(d.leases, ctx, 'create', async (lctx) => {
      const mounts = await sn.prepare(lctx, id, top || undefined);
      snapshot = true;
      return finishCreate(d, lctx, rec, img.record.name, mounts, () => (container = true));
    });
    const ready = await d.records.update(ctx, id, (r) => ({ ...r, phase: 'ready', ...made.etc, mounts: made.mounts }));
    d.tasks.warmSpec(ctx.ns, made.container);
    events.publish(ctx.ns, 'create', ready);
    return { ...ready, warnings };
  } catch (e) {
    await d.volumes.release(ctx, id, { removeAnonymous: true }).catch(() => undefined);
    if (container) await d.containers.delete(ctx, id).catch(() => undefined);
    if (snapshot) await sn.remove(ctx, id).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    await d.records.delete(ctx, id).catch(() => undefined);
    throw e;
  }
}

/**
 * The volumes, binds and tmpfs a container asks for: volumes taken (made on first use) and filled
 * with the image's content where they are new and empty (from the new snapshot, before the
 * container ever ran), as Docker's create does.
 */
async function takeMounts(d: EngineDeps, ctx: Ctx, rec: EngineRecord, snapshot: Mount[]): Promise<{ specs: MountSpec[]; oci: OciMount[] }> {
  const request = await mountRequest(rec.hostConfig, rec.config.volumes, async (ref) => (await d.records.resolve(ctx, ref)).mounts);
  const deps: MountDeps = { volumes: d.volumes, exists: existsSync, makeDir: async (p) => void (await mkdir(p, { recursive: true, mode: 0o755 })) };
  const specs = await prepareMounts(ctx, deps, rec.id, request, { kind: 'mounts', mounts: snapshot, tmpdir: d.tmpdir, readonly: true });
  return {
    specs,
    oci: ociMounts(
      specs,
      (name) => d.volumes.dataDir(ctx.ns, name),
      (v) => parseSize(v, 'tmpfs-size'),
    ),
  };
}

/** The part of create that needs the snapshot: mounts, user, /etc files, spec, containerd's container. */
async function finishCreate(
  d: EngineDeps,
  ctx: Ctx,
  rec: EngineRecord,
  imageName: string,
  mounts: Mount[],
  made: () => void,
): Promise<{ etc: EtcFiles; container: Container; mounts: MountSpec[] }> {
  const { id, config, hostConfig } = rec;
  const dir = d.records.dir(ctx.ns, id);
  const taken = await takeMounts(d, ctx, rec, mounts);
  const user = resolveUser(config.user, readRootfsFile(mounts, '/etc/passwd'), readRootfsFile(mounts, '/etc/group'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const etc = await etcOfJoined(d, ctx, rec, writeEtcFiles(dir, config.hostname, hostConfig.networkMode));
  const netns = await specNetns(d, ctx, rec);
  const spec = buildSpec({ id, namespace: ctx.ns, config, hostConfig, user, etc, initBinary: d.helperPath, netns, mounts: taken.oci });
  const container = await d.containers.create(ctx, {
    id,
    labels: { ...config.labels, [NAME_LABEL]: rec.name },
    image: imageName,
    runtime: { name: RUNTIME },
    spec: { typeUrl: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec)).toString('base64') },
    snapshotter: d.snapshotter,
    snapshotKey: id,
    extensions: {},
  });
  made();
  return { etc, container, mounts: taken.specs };
}

/**
 * Undoes a create a crash interrupted (or what is left of a removal). containerd's record, the
 * snapshot and the files go side by side: none needs another gone first, and each is done again
 * (or found gone) if a crash comes before the engine's record, which goes last, once all are.
 */
export async function discardContainer(d: EngineDeps, ctx: Ctx, r: Pick<EngineRecord, 'id' | 'snapshotter' | 'snapshotKey'>): Promise<void> {
  const ignore = (e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e));
  const sn = d.snapshotters.get(r.snapshotter);
  const done = await Promise.allSettled([
    d.containers.delete(ctx, r.id).catch(ignore),
    sn?.remove(ctx, r.snapshotKey).catch(ignore),
    rm(d.records.dir(ctx.ns, r.id), { recursive: true, force: true }),
  ]);
  for (const x of done) if (x.status === 'rejected') throw x.reason;
  await d.records.delete(ctx, r.id);
}
