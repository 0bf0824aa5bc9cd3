import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorKind } from '../../src/core/errors';
import type { Mount } from '../../src/core/types';
import { compactLowerdir, mountArgs, upperDir } from '../../src/snapshotter/mounts';
import type { Info, Snapshotter } from '../../src/snapshotter/types';
import { run } from '../helpers/ctr';
import { itWith, requireRoot } from '../helpers/requires';

export interface SuiteTarget {
  sn: Snapshotter;
  /** The backend directory that holds `snapshots/<id>` (for the crash/orphan cases). */
  backendRoot: string;
  /** Closes and opens again (a daemon restart); returns the new handle. */
  reopen(): Promise<Snapshotter>;
  close(): Promise<void>;
}

export const itRoot = itWith(requireRoot());

export async function kindOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return errorKind(e) ?? `non-taxonomy error: ${(e as Error).message}`;
  }
  return undefined;
}

export async function collectWalk(sn: Snapshotter, filters?: string[]): Promise<Info[]> {
  const out: Info[] = [];
  for await (const i of sn.walk(filters)) out.push(i);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Mounts a snapshotter's mount set on `target` with mount(8) (compacting deep lowerdir lists). */
export async function mountOn(mounts: Mount[], target: string): Promise<void> {
  expect(mounts).toHaveLength(1);
  const { mount, cwd } = compactLowerdir(mounts[0]!);
  const r = await run('mount', mountArgs(mount, target), { cwd });
  if (r.code !== 0) throw new Error(`mount ${JSON.stringify(mount)} failed: ${r.stderr}`);
}

export async function unmount(target: string): Promise<void> {
  const r = await run('umount', [target]);
  if (r.code !== 0) throw new Error(`umount ${target}: ${r.stderr}`);
}

export function mountedUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir));
}

/**
 * Conformance suite for Snapshotter (containerd's core/snapshots/testsuite, in spirit): runs against
 * every backend and against the namespaced metadata view.
 */
export function snapshotterSuite(name: string, factory: (dir: string) => Promise<SuiteTarget>): void {
  describe(`snapshotter conformance: ${name}`, () => {
    let dir: string;
    let t: SuiteTarget;
    let sn: Snapshotter;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'berth-snap-'));
      t = await factory(dir);
      sn = t.sn;
    });
    afterEach(async () => {
      await t.close();
      expect(mountedUnder(dir)).toEqual([]);
      await rm(dir, { recursive: true, force: true });
    });

    it('prepare without parent gives a read-write bind of an empty dir, stat says ACTIVE', async () => {
      const m = await sn.prepare('a', undefined, { x: 'y' });
      expect(m).toHaveLength(1);
      expect(m[0]!.type).toBe('bind');
      expect(m[0]!.options).toEqual(['rw', 'rbind']);
      expect(await readdir(m[0]!.source)).toEqual([]);
      const i = await sn.stat('a');
      expect(i).toMatchObject({ name: 'a', kind: 'ACTIVE', labels: { x: 'y' } });
      expect(i.parent).toBeUndefined();
      expect(i.createdAt.getTime()).toBeGreaterThan(0);
      expect(await sn.mounts('a')).toEqual(m);
    });

    it('commit turns an active snapshot into a committed name; chains and views have parents', async () => {
      await sn.prepare('k1');
      await sn.commit('c1', 'k1', { l: '1' });
      expect(await kindOf(sn.stat('k1'))).toBe('NotFound');
      expect(await sn.stat('c1')).toMatchObject({ name: 'c1', kind: 'COMMITTED', labels: { l: '1' } });
      await sn.prepare('k2', 'c1');
      await sn.commit('c2', 'k2');
      expect((await sn.stat('c2')).parent).toBe('c1');
      const vm = await sn.view('v', 'c2');
      expect(() => upperDir(vm)).toThrow();
      expect(await sn.stat('v')).toMatchObject({ kind: 'VIEW', parent: 'c2' });
      const a = await sn.prepare('a', 'c2');
      expect(a).toHaveLength(1);
      expect(upperDir(a)).toBeTruthy();
      expect((await collectWalk(sn)).map((i) => [i.name, i.kind, i.parent ?? ''])).toEqual([
        ['a', 'ACTIVE', 'c2'],
        ['c1', 'COMMITTED', ''],
        ['c2', 'COMMITTED', 'c1'],
        ['v', 'VIEW', 'c2'],
      ]);
    });

    it('error codes: used key, used name, bad parent, commit of a view, remove with children, unknown keys', async () => {
      await sn.prepare('k');
      expect(await kindOf(sn.prepare('k'))).toBe('AlreadyExists');
      expect(await kindOf(sn.view('k'))).toBe('AlreadyExists');
      expect(await kindOf(sn.prepare('x', 'missing'))).toBe('NotFound');
      expect(await kindOf(sn.prepare('x', 'k'))).toBe('InvalidArgument');
      await sn.commit('c', 'k');
      expect(await kindOf(sn.prepare('c'))).toBe('AlreadyExists');
      await sn.prepare('k2', 'c');
      expect(await kindOf(sn.commit('c', 'k2'))).toBe('AlreadyExists');
      await sn.view('v', 'c');
      expect(await kindOf(sn.commit('cv', 'v'))).toBe('FailedPrecondition');
      expect(await kindOf(sn.commit('cc', 'c'))).toBe('FailedPrecondition');
      expect(await kindOf(sn.mounts('c'))).toBe('FailedPrecondition');
      expect(await kindOf(sn.remove('c'))).toBe('FailedPrecondition');
      const ops = [
        () => sn.stat('nope'),
        () => sn.mounts('nope'),
        () => sn.remove('nope'),
        () => sn.usage('nope'),
        () => sn.commit('n', 'nope'),
        () => sn.update({ name: 'nope', labels: {} }),
      ];
      for (const op of ops) expect(await kindOf(op())).toBe('NotFound');
      // Nothing half-made is left behind by the failures.
      expect((await collectWalk(sn)).map((i) => i.name)).toEqual(['c', 'k2', 'v']);
    });

    it('remove: children first, then the parent; the directory goes away', async () => {
      await sn.prepare('k');
      await sn.commit('c', 'k');
      const m = await sn.prepare('child', 'c');
      const up = upperDir(m);
      expect(existsSync(up)).toBe(true);
      await sn.remove('child');
      expect(existsSync(up)).toBe(false);
      await sn.remove('c');
      expect(await collectWalk(sn)).toEqual([]);
      expect((await readdir(join(t.backendRoot, 'snapshots'))).length).toBe(0);
    });

    it('update: labels with and without field masks; other fields are InvalidArgument', async () => {
      await sn.prepare('k', undefined, { a: '1', b: '2' });
      const before = await sn.stat('k');
      let i = await sn.update({ name: 'k', labels: { a: '9', c: '3' } }, ['labels.a']);
      expect(i.labels).toEqual({ a: '9', b: '2' });
      i = await sn.update({ name: 'k', labels: {} }, ['labels.b']);
      expect(i.labels).toEqual({ a: '9' });
      i = await sn.update({ name: 'k', labels: { z: '1' } }, ['labels']);
      expect(i.labels).toEqual({ z: '1' });
      i = await sn.update({ name: 'k', labels: { y: '2' } });
      expect(i.labels).toEqual({ y: '2' });
      expect(i.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());
      expect((await sn.stat('k')).labels).toEqual({ y: '2' });
      expect(await kindOf(sn.update({ name: 'k', labels: {} }, ['parent']))).toBe('InvalidArgument');
    });

    it('walk filters: name, parent, kind, labels', async () => {
      await sn.prepare('k1', undefined, { team: 'a' });
      await sn.commit('base', 'k1', { team: 'a' });
      await sn.prepare('act', 'base', { team: 'b' });
      await sn.view('vw', 'base');
      const names = async (f: string[]) => (await collectWalk(sn, f)).map((i) => i.name);
      expect(await names(['kind==committed'])).toEqual(['base']);
      expect(await names(['kind==view'])).toEqual(['vw']);
      expect(await names(['parent==base'])).toEqual(['act', 'vw']);
      expect(await names(['labels.team==b'])).toEqual(['act']);
      expect(await names(['name==vw', 'name==act'])).toEqual(['act', 'vw']);
      expect(await names(['kind==active,labels.team==a'])).toEqual([]);
      expect(await names([''])).toEqual(['act', 'base', 'vw']);
    });

    it('usage counts allocated blocks and distinct inodes (hardlinks once)', async () => {
      const m = await sn.prepare('k');
      const up = upperDir(m);
      const empty = await sn.usage('k');
      expect(empty.inodes).toBe(1);
      await writeFile(join(up, 'f'), Buffer.alloc(64 * 1024, 1));
      await mkdir(join(up, 'd'));
      await run('ln', [join(up, 'f'), join(up, 'd', 'hl')]);
      const u = await sn.usage('k');
      expect(u.inodes).toBe(3);
      expect(u.size).toBeGreaterThanOrEqual(64 * 1024);
      expect(u.size).toBeLessThan(2 * 64 * 1024);
      await sn.commit('c', 'k');
      expect(await sn.usage('c')).toEqual(u);
    });

    it('survives a restart, and the start-up sweep removes crash leftovers', async () => {
      await sn.prepare('k', undefined, { keep: 'me' });
      await writeFile(join(upperDir(await sn.mounts('k')), 'f'), 'data');
      await sn.commit('c', 'k');
      await sn.prepare('a', 'c');
      const snaps = join(t.backendRoot, 'snapshots');
      // A crash mid-prepare leaves new-XXXX; a crash after the rename but before the metadata
      // write leaves an id directory nobody refers to.
      await mkdir(join(snaps, 'new-crash', 'fs'), { recursive: true });
      await mkdir(join(snaps, '99999', 'fs'), { recursive: true });
      sn = await t.reopen();
      const left = (await readdir(snaps)).sort();
      expect(left).toHaveLength(2);
      expect(left).not.toContain('new-crash');
      expect(left).not.toContain('99999');
      expect(await sn.stat('c')).toMatchObject({ kind: 'COMMITTED', labels: {} });
      expect(await sn.stat('a')).toMatchObject({ kind: 'ACTIVE', parent: 'c' });
      // New ids never reuse old ones after a restart.
      await sn.prepare('b', 'c');
      expect((await readdir(snaps)).length).toBe(3);
      await mkdir(join(snaps, 'new-again'));
      await sn.cleanup();
      expect(await readdir(snaps)).not.toContain('new-again');
    });

    itRoot('mounted: writes and deletions in an active snapshot show in a view of its commit', async () => {
      const mnt = join(dir, 'mnt');
      await mkdir(mnt);
      await mountOn(await sn.prepare('base'), mnt);
      try {
        await writeFile(join(mnt, 'keep.txt'), 'keep');
        await writeFile(join(mnt, 'gone.txt'), 'gone');
        await mkdir(join(mnt, 'dir'));
        await writeFile(join(mnt, 'dir', 'in.txt'), 'in');
      } finally {
        await unmount(mnt);
      }
      await sn.commit('base-c', 'base');
      await mountOn(await sn.prepare('up', 'base-c'), mnt);
      try {
        expect(await readFile(join(mnt, 'keep.txt'), 'utf8')).toBe('keep');
        await writeFile(join(mnt, 'new.txt'), 'new');
        await rm(join(mnt, 'gone.txt'));
        await rm(join(mnt, 'dir'), { recursive: true });
      } finally {
        await unmount(mnt);
      }
      await sn.commit('up-c', 'up');
      for (const [view, parent, expected] of [
        ['v1', 'base-c', ['dir', 'gone.txt', 'keep.txt']],
        ['v2', 'up-c', ['keep.txt', 'new.txt']],
      ] as const) {
        await mountOn(await sn.view(view, parent), mnt);
        try {
          expect((await readdir(mnt)).sort()).toEqual(expected);
          await expect(writeFile(join(mnt, 'x'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
        } finally {
          await unmount(mnt);
        }
      }
      // A third layer on top of two: a real overlay for overlayfs.
      await mountOn(await sn.prepare('top', 'up-c'), mnt);
      try {
        expect((await readdir(mnt)).sort()).toEqual(['keep.txt', 'new.txt']);
        expect((await stat(join(mnt, 'new.txt'))).size).toBe(3);
      } finally {
        await unmount(mnt);
      }
    });
  });
}
