import { mkdirSync, mkdtempSync, renameSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { alreadyExists, errnoCode, failedPrecondition, fromErrno, invalidArgument, notFound } from '../core/errors';
import { parseFilters } from '../core/filters';
import type { Logger } from '../core/logger';
import type { Labels, Mount } from '../core/types';
import type { MetaStore, SnapshotRecord } from './storage';
import { adaptInfo, toInfo } from './info';
import { updateLabels } from '../core/labels';
import type { Info, Kind, Snapshotter, Usage } from './types';
import { diskUsage } from './usage';

/**
 * What overlay and native share (containerd's storage + the common parts of its snapshotters):
 * the metastore bookkeeping, the `new-XXXX` → `<id>` directory commit, removal (metadata first,
 * directories after) and the orphan sweep. Subclasses decide what a snapshot directory contains
 * and which mounts describe it.
 *
 *   <root>/metadata.db/           the MetaStore (LevelDB)
 *   <root>/snapshots/<id>/fs      the snapshot's tree (the overlay upper dir)
 *   <root>/snapshots/<id>/work    overlay work dir (active overlay snapshots only)
 *   <root>/trash/<id>-<n>         removed snapshots whose tree is still being deleted
 */
/** Options every DirSnapshotter takes. */
export interface DirSnapshotterOptions {
  log?: Logger;
  /**
   * Hands a removed snapshot's tree (in trash/) to a deleter outside berthd's event loop (the
   * daemon wires the helper launcher); false = not available, and it is deleted here.
   */
  offloadRemoval?: (dir: string) => boolean;
}

export abstract class DirSnapshotter implements Snapshotter {
  protected constructor(
    readonly root: string,
    protected readonly store: MetaStore,
    protected readonly log: Logger,
    private readonly offloadRemoval?: (dir: string) => boolean,
  ) {}

  /** Background deletions of removed snapshots' trees (close() waits for them). */
  private readonly purging = new Set<Promise<void>>();
  private trashSeq = 0;

  protected get snapshotsDir(): string {
    return join(this.root, 'snapshots');
  }

  private get trashDir(): string {
    return join(this.root, 'trash');
  }

  /** The tree of snapshot `id` (the overlay upper dir). */
  fsPath(id: string): string {
    return join(this.snapshotsDir, id, 'fs');
  }

  /** Fills a fresh temporary snapshot dir: at least `fs/`. `parentIds` is nearest first. */
  protected abstract populate(dir: string, kind: Kind, parentIds: string[]): Promise<void>;

  /** Mount specs of an active snapshot or a view. */
  protected abstract mountsFor(rec: SnapshotRecord, parentIds: string[]): Mount[];

  async stat(key: string): Promise<Info> {
    return toInfo(key, this.mustGet(key));
  }

  async update(info: Pick<Info, 'name' | 'labels'>, fieldpaths: readonly string[] = []): Promise<Info> {
    if (!info.name) throw invalidArgument('snapshot name is required for update');
    return this.store.lock(async () => {
      const rec = this.mustGet(info.name);
      const labels = updateLabels(`snapshot ${info.name}`, rec.labels, info.labels ?? {}, fieldpaths);
      const next: SnapshotRecord = { ...rec, labels, updatedAt: new Date().toISOString() };
      await this.store.apply({ put: [[info.name, next]] });
      return toInfo(info.name, next);
    });
  }

  async usage(key: string): Promise<Usage> {
    const rec = this.mustGet(key);
    if (rec.kind === 'COMMITTED' && rec.size !== undefined && rec.inodes !== undefined) return { size: rec.size, inodes: rec.inodes };
    try {
      return await diskUsage(this.fsPath(rec.id));
    } catch (e) {
      throw fromErrno(e, `snapshot ${key} usage`);
    }
  }

  async mounts(key: string): Promise<Mount[]> {
    const rec = this.mustGet(key);
    if (rec.kind === 'COMMITTED') throw failedPrecondition(`snapshot ${key}: requested snapshot not active or view`);
    return this.mountsFor(rec, this.store.chainIds(rec.parent));
  }

  prepare(key: string, parent?: string, labels?: Labels): Promise<Mount[]> {
    return this.create('ACTIVE', key, parent, labels);
  }

  view(key: string, parent?: string, labels?: Labels): Promise<Mount[]> {
    return this.create('VIEW', key, parent, labels);
  }

  private async create(kind: Kind, key: string, parent: string | undefined, labels: Labels = {}): Promise<Mount[]> {
    if (!key) throw invalidArgument('snapshot key must not be empty');
    parent = parent || undefined;
    return this.store.lock(async () => {
      if (this.store.get(key)) throw alreadyExists(`snapshot ${key}: already exists`);
      if (parent !== undefined) {
        const p = this.store.get(parent);
        if (!p) throw notFound(`parent snapshot ${parent}: not found`);
        if (p.kind !== 'COMMITTED') throw invalidArgument(`parent ${parent}: not a committed snapshot`);
      }
      const parentIds = this.store.chainIds(parent);
      const id = this.store.nextId();
      const final = join(this.snapshotsDir, id);
      let tmp: string | undefined;
      try {
        tmp = mkdtempSync(join(this.snapshotsDir, 'new-')); // sync: see OverlaySnapshotter.populate
        await this.populate(tmp, kind, parentIds);
        renameSync(tmp, final);
        tmp = undefined;
        // No fsync of snapshots/ (it cost ~1 ms of every Prepare): a berthd crash loses nothing
        // without it (the page cache survives), and the record written next is an unsynced LevelDB
        // batch, which a journaling filesystem commits after this rename, never before (containerd's
        // overlay does not fsync here either). A directory without a record is swept by cleanup().
      } catch (e) {
        if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
        throw fromErrno(e, `snapshot ${key}`);
      }
      const now = new Date().toISOString();
      const rec: SnapshotRecord = { id, kind, labels: { ...labels }, createdAt: now, updatedAt: now };
      if (parent !== undefined) rec.parent = parent;
      try {
        await this.store.apply({ put: [[key, rec]] });
      } catch (e) {
        await rm(final, { recursive: true, force: true }).catch(() => undefined);
        throw e;
      }
      return this.mountsFor(rec, parentIds);
    });
  }

  async commit(name: string, key: string, labels: Labels = {}): Promise<void> {
    if (!name) throw invalidArgument('snapshot name must not be empty');
    await this.store.lock(async () => {
      if (this.store.get(name)) throw alreadyExists(`snapshot ${name}: already exists`);
      const rec = this.mustGet(key);
      if (rec.kind !== 'ACTIVE') throw failedPrecondition(`snapshot ${key}: requested snapshot not active`);
      // No usage walk here (containerd walks the tree at commit): a committed tree never changes,
      // so usage() computes the same numbers on demand. The walk was ~20 ms of every layer of an
      // image unpack, on the critical path of `ctr images pull`.
      const now = new Date().toISOString();
      const next: SnapshotRecord = { id: rec.id, kind: 'COMMITTED', labels: { ...labels }, createdAt: now, updatedAt: now };
      if (rec.parent !== undefined) next.parent = rec.parent;
      await this.store.apply({ del: [key], put: [[name, next]] });
      await this.afterCommit(rec.id);
    });
  }

  /** Hook after a commit (overlay drops the work dir it no longer needs). */
  protected async afterCommit(_id: string): Promise<void> {}

  async remove(key: string): Promise<void> {
    const id = await this.store.lock(async () => {
      const rec = this.mustGet(key);
      if (this.store.hasChildren(key)) throw failedPrecondition(`snapshot ${key}: cannot remove snapshot with child`);
      await this.store.apply({ del: [key] });
      return rec.id;
    });
    // The metadata delete is the commit point: directory failures are logged and swept later.
    await this.discardDir(id);
  }

  async *walk(filters?: readonly string[]): AsyncIterable<Info> {
    const match = parseFilters(filters);
    for (const [key, rec] of this.store.entries()) {
      const info = toInfo(key, rec);
      if (match(adaptInfo(info))) yield info;
    }
  }

  async cleanup(): Promise<void> {
    await this.store.lock(async () => {
      const ids = this.store.ids();
      for (const name of await readdir(this.snapshotsDir)) {
        if (!ids.has(name)) await this.removeTree(join(this.snapshotsDir, name));
      }
      // Trees a crash (or a purge still running) left in trash/.
      for (const name of await readdir(this.trashDir).catch(() => [])) await this.removeTree(join(this.trashDir, name));
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.purging);
    await this.store.close();
  }

  /**
   * Moves a removed snapshot's directory into trash/ (one rename on the same filesystem) and
   * deletes the tree in the background, as containerd's overlay renames to `rm-<id>` before its
   * RemoveAll. A recursive delete is a dozen threadpool round trips even for an empty container
   * layer (2-6 ms of Snapshots/Remove under load), and nothing waits for it: the snapshot is
   * gone from the metadata and from snapshots/ when this returns.
   */
  private async discardDir(id: string): Promise<void> {
    const dir = join(this.snapshotsDir, id);
    const dest = join(this.trashDir, `${id}-${process.pid}.${++this.trashSeq}`);
    try {
      try {
        renameSync(dir, dest);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
        mkdirSync(this.trashDir, { recursive: true, mode: 0o700 }); // an older root without trash/
        renameSync(dir, dest);
      }
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') await this.removeTree(dir);
      return;
    }
    if (this.offloadRemoval?.(dest)) return;
    const p = this.removeTree(dest).finally(() => this.purging.delete(p));
    this.purging.add(p);
  }

  private async removeTree(dir: string): Promise<void> {
    try {
      await rm(dir, { recursive: true, force: true });
    } catch (e) {
      this.log.warn('failed to remove snapshot directory', { dir, err: (e as Error).message });
    }
  }

  protected mustGet(key: string): SnapshotRecord {
    const rec = this.store.get(key);
    if (!rec) throw notFound(`snapshot ${key}: not found`);
    return rec;
  }

  /** Creates the directory layout a MetaStore-backed snapshotter needs under `root`. */
  static async prepareRoot(root: string): Promise<void> {
    await mkdir(join(root, 'snapshots'), { recursive: true, mode: 0o700 });
    await mkdir(join(root, 'trash'), { recursive: true, mode: 0o700 });
  }
}
