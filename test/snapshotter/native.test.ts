import { mkdtemp, readFile, rm, stat, writeFile, symlink, mkdir, link } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeSnapshotter } from '../../src/snapshotter/native';
import { upperDir } from '../../src/snapshotter/mounts';
import { run } from '../helpers/ctr';
import { itRoot, snapshotterSuite } from '../suites/snapshotter-suite';

snapshotterSuite('native', async (dir) => {
  const root = join(dir, 'native');
  let sn = await NativeSnapshotter.open(root);
  return {
    sn,
    backendRoot: root,
    reopen: async () => {
      await sn.close();
      sn = await NativeSnapshotter.open(root);
      return sn;
    },
    close: () => sn.close(),
  };
});

describe('native snapshotter copies', () => {
  let dir: string;
  let sn: NativeSnapshotter;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-native-'));
    sn = await NativeSnapshotter.open(join(dir, 'n'));
  });
  afterEach(async () => {
    await sn.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('binds only, and a child is an independent copy of its parent', async () => {
    const m = await sn.prepare('k');
    expect(m).toEqual([{ type: 'bind', source: join(dir, 'n', 'snapshots', '1', 'fs'), options: ['rw', 'rbind'] }]);
    await writeFile(join(upperDir(m), 'f'), 'parent');
    await sn.commit('c', 'k');
    const child = upperDir(await sn.prepare('k2', 'c'));
    expect(await readFile(join(child, 'f'), 'utf8')).toBe('parent');
    await writeFile(join(child, 'f'), 'child');
    const v = await sn.view('v', 'c');
    expect(v[0]!.options).toEqual(['ro', 'rbind']);
    expect(await readFile(join(v[0]!.source, 'f'), 'utf8')).toBe('parent');
  });

  itRoot('preserves modes, owners, hardlinks, symlinks, devices, xattrs and mtimes', async () => {
    const up = upperDir(await sn.prepare('k'));
    await writeFile(join(up, 'f'), 'x', { mode: 0o4755 });
    await run('chown', ['1234:5678', join(up, 'f')]);
    await run('chmod', ['4755', join(up, 'f')]);
    await link(join(up, 'f'), join(up, 'hl'));
    await symlink('f', join(up, 'sl'));
    await mkdir(join(up, 'd'), { mode: 0o700 });
    expect((await run('mknod', [join(up, 'd', 'null'), 'c', '1', '3'])).code).toBe(0);
    const xa = await run('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "user.test", b"val")', join(up, 'f')]);
    await run('touch', ['-h', '-d', '2001-02-03T04:05:06Z', join(up, 'sl')]);
    await sn.commit('c', 'k');
    const cp = upperDir(await sn.prepare('k2', 'c'));
    const f = await stat(join(cp, 'f'));
    expect(f.mode & 0o7777).toBe(0o4755);
    expect([f.uid, f.gid]).toEqual([1234, 5678]);
    expect((await stat(join(cp, 'hl'))).ino).toBe(f.ino);
    expect((await run('readlink', [join(cp, 'sl')])).stdout.trim()).toBe('f');
    expect((await stat(join(cp, 'd'))).mode & 0o777).toBe(0o700);
    const dev = await stat(join(cp, 'd', 'null'));
    expect(dev.isCharacterDevice()).toBe(true);
    expect(dev.rdev).toBe((await stat('/dev/null')).rdev);
    expect((await run('stat', ['-c', '%Y', '--', join(cp, 'sl')])).code).toBe(0);
    expect((await run('stat', ['-L', '-c', '%Y', join(up, 'f')])).stdout).toBe((await run('stat', ['-L', '-c', '%Y', join(cp, 'f')])).stdout);
    expect(xa.code).toBe(0);
    expect((await run('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "user.test").decode())', join(cp, 'f')])).stdout.trim()).toBe('val');
  });
});
