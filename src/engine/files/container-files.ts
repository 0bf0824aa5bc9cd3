/**
 * `cp`, `export` and `diff` on a container's filesystem, through berth-rootfs (src/rootfs):
 * nothing outside the container is read or written, whatever it did to its paths.
 *
 * A running (or paused) container is reached through its own view (/proc/PID/root), mounts and
 * all, as it sees itself; one that is not running through its snapshot, mounted privately by
 * berth-rootfs with its volumes and binds on top (as Docker mounts them for cp). Reads use a
 * read-only view of the snapshot; a write into a stopped container holds its lifecycle lock, so
 * it cannot start meanwhile on the same upper dir. `export` is the root filesystem alone.
 */
import { mkdtemp, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Ctx } from '../../core/context';
import { failedPrecondition, notFound, notImplemented } from '../../core/errors';
import type { Archive, Change, PathStat, RootfsSource } from '../../rootfs';
import type { EngineDeps } from '../deps';
import type { Lifecycle } from '../lifecycle';
import type { EngineRecord } from '../record';
import { readRootfsFile } from '../rootfs-files';
import { resolveUser } from '../user';
import type { CopyToOptions } from './types';

const live = (r: EngineRecord) => (r.state.status === 'running' || r.state.status === 'paused') && r.state.pid > 0;

/** Container paths are from its root (Docker's cp: the leading slash is optional). */
const absolute = (p: string) => (p.startsWith('/') ? p : `/${p}`);

async function snapshotMounts(d: EngineDeps, ctx: Ctx, r: EngineRecord) {
  const sn = d.snapshotters.get(r.snapshotter);
  if (!sn) throw notFound(`snapshotter ${r.snapshotter}: not found`);
  return sn.mounts(ctx, r.snapshotKey);
}

/** How berth-rootfs reaches the container: `volumes` false = its root filesystem alone. */
export async function rootfsOf(d: EngineDeps, ctx: Ctx, r: EngineRecord, o: { readonly: boolean; volumes: boolean }): Promise<RootfsSource> {
  if (o.volumes && live(r)) return { kind: 'pid', pid: r.state.pid };
  const mounts = await snapshotMounts(d, ctx, r);
  const binds = o.volumes
    ? r.mounts
        .filter((m) => m.type !== 'tmpfs')
        .map((m) => ({ source: m.type === 'volume' ? d.volumes.dataDir(ctx.ns, m.source) : m.source, destination: m.target, readonly: m.readOnly }))
    : [];
  return { kind: 'mounts', mounts, binds, tmpdir: d.tmpdir, readonly: o.readonly };
}

type IdMap = Array<{ containerID: number; hostID: number; size: number }>;

/**
 * A running container's user namespace (berthd's --userns-remap): its id maps, or undefined for
 * the host's. Its files seen through /proc/PID/root carry host ids, mapped back for cp out.
 */
async function usernsOf(r: EngineRecord): Promise<{ uidMap: IdMap; gidMap: IdMap } | undefined> {
  if (!live(r)) return undefined;
  const parse = (t: string): IdMap =>
    t
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number))
      .map(([c, h, n]) => ({ containerID: c!, hostID: h!, size: n! }));
  const uidMap = parse(await readFile(`/proc/${r.state.pid}/uid_map`, 'utf8'));
  if (uidMap.length === 1 && uidMap[0]!.containerID === 0 && uidMap[0]!.hostID === 0 && uidMap[0]!.size === 4294967295) return undefined;
  return { uidMap, gidMap: parse(await readFile(`/proc/${r.state.pid}/gid_map`, 'utf8')) };
}

const toContainerId = (map: IdMap, id: number) => {
  const m = map.find((x) => id >= x.hostID && id < x.hostID + x.size);
  return m ? m.containerID + (id - m.hostID) : 65534;
};

export async function statPath(d: EngineDeps, ctx: Ctx, r: EngineRecord, path: string): Promise<PathStat> {
  const st = await d.rootfs.stat(await rootfsOf(d, ctx, r, { readonly: true, volumes: true }), absolute(path));
  const ns = await usernsOf(r);
  return ns ? { ...st, uid: toContainerId(ns.uidMap, st.uid), gid: toContainerId(ns.gidMap, st.gid) } : st;
}

export async function copyFrom(d: EngineDeps, ctx: Ctx, r: EngineRecord, path: string, signal?: AbortSignal): Promise<{ stat: PathStat; archive: Archive }> {
  const src = await rootfsOf(d, ctx, r, { readonly: true, volumes: true });
  const stat = await statPath(d, ctx, r, path);
  const ns = await usernsOf(r);
  // Entries are named from the path as asked (a symlink's own name, `.` for `dir/.`), as Docker rebases them.
  const archive = await d.rootfs.archive(src, absolute(path), { name: stat.name === '/' ? '.' : stat.name, ...(ns ?? {}), ...(signal ? { signal } : {}) });
  return { stat, archive };
}

/** Under a writable volume or bind (a read-only root filesystem still takes files there). */
function onWritableMount(r: EngineRecord, path: string): boolean {
  return r.mounts.some((m) => !m.readOnly && (path === m.target || path.startsWith(`${m.target}/`)));
}

export async function copyTo(
  d: EngineDeps,
  life: Lifecycle,
  ctx: Ctx,
  r: EngineRecord,
  path: string,
  tar: AsyncIterable<Buffer>,
  o: CopyToOptions = {},
): Promise<void> {
  const dest = absolute(path);
  if (r.hostConfig.readonlyRootfs && !onWritableMount(r, dest)) throw failedPrecondition(`container ${r.name}: container rootfs is marked read-only`);
  let chown: { uid: number; gid: number } | undefined;
  if (o.copyUIDGID && r.config.user) {
    // The container's user as the container knows it (its own /etc/passwd), not the host's.
    const mounts = await snapshotMounts(d, ctx, r);
    const u = resolveUser(r.config.user, readRootfsFile(mounts, '/etc/passwd'), readRootfsFile(mounts, '/etc/group'));
    chown = { uid: u.uid, gid: u.gid };
  }
  // Under berthd's --userns-remap a container's layer keeps host ids (what it wrote) over idmapped
  // image layers, and its running root is idmapped: writing there with the right owners is not
  // done yet.
  if (d.tasks.opts.usernsRemap && r.hostConfig.networkMode !== 'host')
    throw notImplemented(`container ${r.name}: cp into a container under berthd's --userns-remap is not supported yet`);
  const run = async (cur: EngineRecord) => {
    const src = await rootfsOf(d, ctx, cur, { readonly: false, volumes: true });
    await d.rootfs.extract(src, dest, tar, { ...(chown ? { chown } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  };
  if (live(r)) return run(r);
  // Not running: its snapshot is mounted read-write here, so it must not start meanwhile.
  await life.serial(ctx.ns, r.id, async () => run((await d.records.get(ctx, r.id)) ?? r));
}

export async function exportRootfs(d: EngineDeps, ctx: Ctx, r: EngineRecord, signal?: AbortSignal): Promise<Archive> {
  return d.rootfs.archive(await rootfsOf(d, ctx, r, { readonly: true, volumes: false }), '/', signal ? { signal } : {});
}

/** Paths the runtime made as mount points in the container's layer (/etc/hosts on an image without one): not the container's changes. */
function mountPointsOf(r: EngineRecord): Set<string> {
  return new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev', '/proc', '/sys', '/dev/shm', ...r.mounts.map((m) => m.target)]);
}

export async function changes(d: EngineDeps, ctx: Ctx, r: EngineRecord): Promise<Change[]> {
  const sn = d.snapshotters.get(r.snapshotter);
  if (!sn) throw notFound(`snapshotter ${r.snapshotter}: not found`);
  const mounts = await sn.mounts(ctx, r.snapshotKey);
  const m = mounts[0]!;
  const opt = (k: string) => m.options.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
  let found: Change[];
  if (m.type === 'overlay' && opt('upperdir')) {
    found = await d.rootfs.changes({ kind: 'overlay', upper: opt('upperdir')!, lowers: (opt('lowerdir') ?? '').split(':').filter(Boolean) });
  } else {
    const info = await sn.stat(ctx, r.snapshotKey);
    const key = `diff-view-${r.id}-${Date.now()}`;
    const parent = info.parent ? await sn.view(ctx, key, info.parent) : undefined;
    const empty = parent ? undefined : await mkdtemp(join(d.tmpdir, 'empty-'));
    try {
      found = await d.rootfs.changes({ kind: 'compare', dir: m.source, parent: parent?.[0]?.source ?? empty! });
    } finally {
      if (parent) await sn.remove(ctx, key).catch(() => undefined);
      if (empty) await rmdir(empty).catch(() => undefined);
    }
  }
  // Docker keeps the runtime's mount points in a layer of their own (the init layer); berth makes
  // them in the container's layer when the image lacks them, so they are left out here.
  const points = mountPointsOf(r);
  const skipped = found.filter((c) => c.kind === 'A' && points.has(c.path)).map((c) => c.path);
  const kept = found.filter((c) => !(c.kind === 'A' && points.has(c.path)));
  const under = (p: string, dir: string) => p.startsWith(`${dir}/`);
  // A directory changed only because a mount point was made in it goes with it.
  return kept.filter((c) => !(c.kind === 'C' && skipped.some((s) => under(s, c.path)) && !kept.some((o) => o !== c && under(o.path, c.path))));
}
