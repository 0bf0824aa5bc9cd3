import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlaySnapshotter } from '../../src/snapshotter/overlay';
import { MOUNT_DATA_LIMIT, compactLowerdir, lowerDirs, upperDir } from '../../src/snapshotter/mounts';
import { itRoot, mountOn, mountedUnder, snapshotterSuite, unmount } from '../suites/snapshotter-suite';

snapshotterSuite('overlayfs', async (dir) => {
  const root = join(dir, 'overlayfs');
  let sn = await OverlaySnapshotter.open(root);
  return {
    sn,
    backendRoot: root,
    reopen: async () => {
      await sn.close();
      sn = await OverlaySnapshotter.open(root);
      return sn;
    },
    close: () => sn.close(),
  };
});

describe('overlayfs mounts match containerd 1.6 on the wire', () => {
  let dir: string;
  let sn: OverlaySnapshotter;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ovl-'));
    sn = await OverlaySnapshotter.open(join(dir, 'o'), { indexOff: true });
  });
  afterEach(async () => {
    await sn.close();
    expect(mountedUnder(dir)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('bind for a single layer, ro bind of the parent for a one-parent view, overlay otherwise', async () => {
    const s = join(dir, 'o', 'snapshots');
    expect(await sn.prepare('extract-1 sha256:aa')).toEqual([{ type: 'bind', source: `${s}/1/fs`, options: ['rw', 'rbind'] }]);
    await sn.commit('sha256:aa', 'extract-1 sha256:aa');
    expect(await sn.prepare('trrm', 'sha256:aa')).toEqual([
      { type: 'overlay', source: 'overlay', options: ['index=off', `workdir=${s}/2/work`, `upperdir=${s}/2/fs`, `lowerdir=${s}/1/fs`] },
    ]);
    expect(await sn.view('v1', 'sha256:aa')).toEqual([{ type: 'bind', source: `${s}/1/fs`, options: ['ro', 'rbind'] }]);
    expect(await sn.view('v0')).toEqual([{ type: 'bind', source: `${s}/4/fs`, options: ['ro', 'rbind'] }]);
    await sn.prepare('k2', 'sha256:aa');
    await sn.commit('sha256:bb', 'k2');
    const v2 = await sn.view('v2', 'sha256:bb');
    expect(v2).toEqual([{ type: 'overlay', source: 'overlay', options: ['index=off', `lowerdir=${s}/5/fs:${s}/1/fs`] }]);
    expect(lowerDirs(v2)).toEqual([`${s}/5/fs`, `${s}/1/fs`]);
    expect(() => upperDir(v2)).toThrow(/read-only/);
    expect(upperDir(await sn.mounts('trrm'))).toBe(`${s}/2/fs`);
    // The work dir exists only for active snapshots.
    expect((await readdir(join(s, '2'))).sort()).toEqual(['fs', 'work']);
    expect(await readdir(join(s, '6'))).toEqual(['fs']);
  });

  itRoot('a 150-layer chain exceeds the mount data page; compacted lowerdir still mounts', async () => {
    let parent: string | undefined;
    for (let i = 0; i < 150; i++) {
      const m = await sn.prepare(`k${i}`, parent);
      await writeFile(join(upperDir(m), `f${i}`), String(i));
      await sn.commit(`c${i}`, `k${i}`);
      parent = `c${i}`;
    }
    const m = await sn.prepare('top', parent);
    expect(m[0]!.options.join(',').length).toBeGreaterThan(MOUNT_DATA_LIMIT);
    const { mount, cwd } = compactLowerdir(m[0]!);
    expect(cwd).toBe(join(dir, 'o', 'snapshots'));
    expect(mount.options.find((o) => o.startsWith('lowerdir='))!.startsWith('lowerdir=150/fs:149/fs:')).toBe(true);
    expect(mount.options.join(',').length).toBeLessThan(MOUNT_DATA_LIMIT);
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    await mountOn(m, mnt);
    try {
      const names = await readdir(mnt);
      expect(names).toHaveLength(150);
      expect(names).toContain('f0');
      expect(names).toContain('f149');
    } finally {
      await unmount(mnt);
    }
  });
});

describe('overlayfs removal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ovl-rm-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes the tree out of snapshots/ at once, deletes it in the background, and sweeps what a crash left in trash/', async () => {
    const root = join(dir, 'o');
    let sn = await OverlaySnapshotter.open(root);
    const m = await sn.prepare('k');
    await mkdir(join(upperDir(m), 'a', 'b'), { recursive: true });
    await writeFile(join(upperDir(m), 'a', 'b', 'f'), 'x');
    await sn.remove('k');
    expect(await readdir(join(root, 'snapshots'))).toEqual([]);
    await sn.close(); // waits for the background delete
    expect(await readdir(join(root, 'trash'))).toEqual([]);

    // A tree left in trash/ by a crash is gone after the next open (its cleanup).
    await mkdir(join(root, 'trash', '7-123.1', 'fs', 'deep'), { recursive: true });
    sn = await OverlaySnapshotter.open(root);
    expect(await readdir(join(root, 'trash'))).toEqual([]);
    await sn.close();
  });
});
