/**
 * The local volume driver and its bookkeeping: each volume is `<root>/<namespace>/<name>/_data`
 * (Docker's layout, one level per namespace), its record and its users live in the metadata DB
 * (metadata/volumes.ts). Creation makes the directory before the record is written; removal marks
 * the record `removing`, deletes the directory, then drops the record; open() finishes whatever a
 * crash interrupted, so a directory never outlives its volume and a volume never lacks its
 * directory.
 */
import { readFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Ctx } from '../core/context';
import { background } from '../core/context';
import { errnoCode, errorKind, isNotFound, notFound } from '../core/errors';
import { validateLabels } from '../core/labels';
import { type Logger, nullLogger } from '../core/logger';
import type { VolumeClaim, VolumeRecord, VolumeRecords, VolumeWithUsers } from '../metadata/volumes';
import type { CopyUpResult, RootfsOps, RootfsSource, VolumeMounter } from '../rootfs';
import { diskUsage } from '../snapshotter';
import { boolFilter, checkFilters, labelMatches, nameMatches } from './filters';
import { ANONYMOUS_LABEL, anonymousVolumeName, validateVolumeName } from './names';
import { checkDriver, needsMount, validateLocalOptions } from './options';
import type { CreateVolumeOptions, PruneResult, Volume, VolumeFilters, VolumeRequest, Volumes } from './types';

const DATA = '_data';

export interface LocalVolumesOptions {
  /** `<berthd root>/volumes`. */
  root: string;
  records: VolumeRecords;
  rootfs: Pick<RootfsOps, 'copyUp'> & VolumeMounter;
  log?: Logger;
}

/** Mount points in berthd's mount namespace (mountinfo's 5th field, octal escapes undone). */
async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return new Set(
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))),
  );
}

export class LocalVolumes implements Volumes {
  /** One operation at a time per volume that touches its directory (populate, remove). */
  private readonly chains = new Map<string, Promise<unknown>>();

  private constructor(
    private readonly root: string,
    private readonly records: VolumeRecords,
    private readonly rootfs: Pick<RootfsOps, 'copyUp'> & VolumeMounter,
    private readonly log: Logger,
  ) {}

  static async open(o: LocalVolumesOptions): Promise<LocalVolumes> {
    await mkdir(o.root, { recursive: true, mode: 0o711 });
    const v = new LocalVolumes(o.root, o.records, o.rootfs, o.log ?? nullLogger);
    await v.recover();
    return v;
  }

  /** The directory a container binds. */
  dataDir(ns: string, name: string): string {
    return join(this.root, ns, name, DATA);
  }

  private toVolume(ns: string, v: Pick<VolumeWithUsers, 'record' | 'users'>): Volume {
    const r = v.record;
    return {
      name: r.name,
      driver: r.driver,
      mountpoint: this.dataDir(ns, r.name),
      createdAt: new Date(r.createdAt),
      labels: { ...r.labels },
      options: { ...r.options },
      scope: 'local',
      users: [...v.users],
      anonymous: Object.hasOwn(r.labels, ANONYMOUS_LABEL),
    };
  }

  private newRecord(o: CreateVolumeOptions): VolumeRecord {
    const name = o.name ? validateVolumeName(o.name) : anonymousVolumeName();
    const labels = { ...(o.labels ?? {}), ...(o.name ? {} : { [ANONYMOUS_LABEL]: '' }) };
    validateLabels(`volume ${name}`, labels);
    return { name, driver: checkDriver(o.driver), labels, options: validateLocalOptions(o.options ?? {}), createdAt: new Date().toISOString(), state: 'ready' };
  }

  private async makeDir(ns: string, name: string): Promise<void> {
    await mkdir(join(this.root, ns), { recursive: true, mode: 0o711 });
    await mkdir(join(this.root, ns, name), { recursive: true, mode: 0o711 });
    await mkdir(this.dataDir(ns, name), { recursive: true, mode: 0o755 });
  }

  async create(ctx: Ctx, o: CreateVolumeOptions): Promise<Volume> {
    const rec = this.newRecord(o);
    const { record, created } = await this.records.create(ctx, rec, () => this.makeDir(ctx.ns, rec.name));
    if (created) return this.toVolume(ctx.ns, { record, users: [] });
    return this.inspect(ctx, record.name);
  }

  async inspect(ctx: Ctx, name: string): Promise<Volume> {
    const v = await this.records.get(ctx, name);
    if (!v || v.record.state !== 'ready') throw notFound(`get ${name}: no such volume`);
    return this.toVolume(ctx.ns, v);
  }

  async list(ctx: Ctx, filters: VolumeFilters = {}): Promise<Volume[]> {
    checkFilters(filters, ['dangling', 'driver', 'label', 'name']);
    const dangling = boolFilter('dangling', filters.dangling);
    return (await this.records.list(ctx))
      .filter((v) => v.record.state === 'ready')
      .filter((v) => dangling === undefined || dangling === (v.users.length === 0))
      .filter((v) => !filters.driver?.length || filters.driver.includes(v.record.driver))
      .filter((v) => (filters.label ?? []).every((l) => labelMatches(v.record.labels, l)))
      .filter((v) => !filters.name?.length || nameMatches(v.record.name, filters.name))
      .map((v) => this.toVolume(ctx.ns, v))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async remove(ctx: Ctx, name: string, o: { force?: boolean } = {}): Promise<void> {
    try {
      await this.removeIf(ctx, name);
    } catch (e) {
      if (!(o.force && isNotFound(e))) throw e;
    }
  }

  /** Removes the volume unless it has users (Conflict) or `when` says no; true if it was removed. */
  private removeIf(ctx: Ctx, name: string, when?: (r: VolumeRecord) => boolean): Promise<boolean> {
    return this.serial(ctx.ns, name, async () => {
      const rec = await this.records.beginRemove(ctx, name, when);
      if (!rec) return false;
      // Nobody uses it, so nothing is mounted on it; a leftover mount would take its content (a
      // bound host directory!) with the directory: detach it first.
      if (needsMount(rec.options)) await this.rootfs.umountVolume(this.dataDir(ctx.ns, name));
      await rm(join(this.root, ctx.ns, name), { recursive: true, force: true });
      await this.records.finishRemove(ctx, name);
      return true;
    });
  }

  async prune(ctx: Ctx, o: { all?: boolean; filters?: VolumeFilters } = {}): Promise<PruneResult> {
    const filters = o.filters ?? {};
    checkFilters(filters, ['label', 'label!', 'all']);
    const all = o.all || boolFilter('all', filters.all) === true;
    const wanted = (r: VolumeRecord) =>
      (all || Object.hasOwn(r.labels, ANONYMOUS_LABEL)) &&
      (filters.label ?? []).every((l) => labelMatches(r.labels, l)) &&
      (filters['label!'] ?? []).every((l) => !labelMatches(r.labels, l));
    const out: PruneResult = { volumesDeleted: [], spaceReclaimed: 0 };
    for (const v of await this.records.list(ctx)) {
      if (v.users.length || v.record.state !== 'ready' || !wanted(v.record)) continue;
      const size = await diskUsage(this.dataDir(ctx.ns, v.record.name)).then(
        (u) => u.size,
        () => 0,
      );
      try {
        // Checked again under the write lock: a container may have started using it meanwhile.
        if (!(await this.removeIf(ctx, v.record.name, wanted))) continue;
      } catch (e) {
        if (errorKind(e) === 'Conflict' || isNotFound(e)) continue;
        throw e;
      }
      out.volumesDeleted.push(v.record.name);
      out.spaceReclaimed += size;
    }
    return out;
  }

  async use(ctx: Ctx, id: string, requests: readonly VolumeRequest[]): Promise<Array<Volume & { created: boolean }>> {
    const claims: VolumeClaim[] = requests.map((r) => {
      const create = this.newRecord({ ...(r.create ?? {}), ...(r.name ? { name: r.name } : {}) });
      return { name: create.name, create };
    });
    const made: string[] = [];
    let used;
    try {
      used = await this.records.use(ctx, id, claims, async (rec) => {
        made.push(rec.name);
        await this.makeDir(ctx.ns, rec.name);
      });
    } catch (e) {
      // Nothing was stored: the directories made for new volumes go too.
      await Promise.all(made.map((n) => rm(join(this.root, ctx.ns, n), { recursive: true, force: true })));
      throw e;
    }
    const out: Array<Volume & { created: boolean }> = [];
    for (const u of used) {
      // An existing volume whose directory went missing (removed by hand) gets an empty one back.
      if (!u.created) await this.makeDir(ctx.ns, u.record.name);
      out.push({ ...this.toVolume(ctx.ns, { record: u.record, users: [] }), created: u.created });
    }
    const users = new Map((await this.records.list(ctx)).map((v) => [v.record.name, v.users]));
    return out.map((v) => ({ ...v, users: users.get(v.name) ?? [id] }));
  }

  async release(ctx: Ctx, id: string, o: { removeAnonymous?: boolean } = {}): Promise<string[]> {
    const names = await this.records.release(ctx, id);
    if (!o.removeAnonymous) return [];
    const removed: string[] = [];
    for (const name of names) {
      try {
        if (await this.removeIf(ctx, name, (r) => Object.hasOwn(r.labels, ANONYMOUS_LABEL))) removed.push(name);
      } catch (e) {
        // Still used by another container (`--volumes-from`), or removed meanwhile: kept.
        if (errorKind(e) !== 'Conflict' && !isNotFound(e)) throw e;
      }
    }
    return removed;
  }

  async mount(ctx: Ctx, name: string, id: string): Promise<string> {
    return this.serial(ctx.ns, name, async () => {
      const rec = (await this.inspect(ctx, name)).options;
      const others = (await this.records.setMounted(ctx, name, id, true)).filter((u) => u !== id);
      const dir = this.dataDir(ctx.ns, name);
      if (needsMount(rec) && others.length === 0) {
        try {
          await this.mountOn(ctx.ns, name, rec);
        } catch (e) {
          await this.records.setMounted(ctx, name, id, false).catch(() => undefined);
          throw e;
        }
      }
      return dir;
    });
  }

  async unmount(ctx: Ctx, name: string, id: string): Promise<void> {
    await this.serial(ctx.ns, name, async () => {
      const v = await this.records.get(ctx, name);
      if (!v || !v.mountedBy.includes(id)) return; // never mounted by it (or the volume is gone)
      const left = await this.records.setMounted(ctx, name, id, false);
      if (needsMount(v.record.options) && left.length === 0) await this.rootfs.umountVolume(this.dataDir(ctx.ns, name));
    });
  }

  private async mountOn(ns: string, name: string, opts: Record<string, string>): Promise<void> {
    const dir = this.dataDir(ns, name);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await this.rootfs.mountVolume(opts.type ?? '', opts.device ?? '', dir, opts.o ?? '');
  }

  async populate(ctx: Ctx, name: string, src: RootfsSource, path: string): Promise<CopyUpResult> {
    return this.serial(ctx.ns, name, async () => {
      const v = await this.records.get(ctx, name);
      if (!v || v.record.state !== 'ready') throw notFound(`get ${name}: no such volume`);
      const dir = this.dataDir(ctx.ns, name);
      // A mounted volume is copied into through its mount, mounted just for the copy when no user
      // has it (Docker's populateVolume mounts and unmounts it the same way).
      const transient = needsMount(v.record.options) && v.mountedBy.length === 0;
      if (transient) await this.mountOn(ctx.ns, name, v.record.options);
      try {
        return await this.rootfs.copyUp(src, path, dir);
      } finally {
        if (transient) await this.rootfs.umountVolume(dir);
      }
    });
  }

  private serial<T>(ns: string, name: string, fn: () => Promise<T>): Promise<T> {
    const k = `${ns}/${name}`;
    const run = (this.chains.get(k) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(k, tail);
    void tail.then(() => {
      if (this.chains.get(k) === tail) this.chains.delete(k);
    });
    return run;
  }

  /** Finishes removals a crash interrupted; removes directories that never got their record. */
  private async recover(): Promise<void> {
    const known = new Set<string>();
    const mounted = await mountPoints();
    for (const { ns, record, mountedBy } of await this.records.all()) {
      known.add(`${ns}/${record.name}`);
      // Mounted with no user that has it mounted (they stopped while berthd was down and the
      // engine already recorded it, or a crash came between the two): detached.
      if (mounted.has(this.dataDir(ns, record.name)) && (mountedBy.length === 0 || record.state === 'removing')) {
        await this.rootfs.umountVolume(this.dataDir(ns, record.name));
        this.log.info('volumes: unmounted a volume no running container uses', { ns, volume: record.name });
      }
      if (record.state !== 'removing') continue;
      const ctx = background(ns, { log: this.log });
      await rm(join(this.root, ns, record.name), { recursive: true, force: true });
      await this.records.finishRemove(ctx, record.name);
      this.log.info('volumes: finished an interrupted removal', { ns, volume: record.name });
    }
    for (const ns of await readdir(this.root).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.root, ns)).catch(() => [] as string[])) {
        if (known.has(`${ns}/${name}`)) continue;
        const data = this.dataDir(ns, name);
        if (mounted.has(data)) await this.rootfs.umountVolume(data);
        const entries = await readdir(data).catch((e) => (errnoCode(e) === 'ENOENT' ? [] : ['?']));
        if (entries.length) {
          this.log.warn('volumes: a volume directory without a record is kept (it holds data)', { ns, dir: join(this.root, ns, name) });
          continue;
        }
        await rm(join(this.root, ns, name), { recursive: true, force: true });
      }
    }
  }
}
