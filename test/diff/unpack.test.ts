import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyTar, buildTar, cleanup, itRoot, snapshot, T0, tc, tempDir, xattrs } from './util';

const nsOf = (d: Date) => BigInt(d.getTime()) * 1_000_000n;

describe('berth-unpack: entries and attributes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4];
      if (mp && mp.startsWith(dir)) execFileSync('umount', ['-l', mp]);
    }
    await cleanup(dir);
  });

  itRoot('preserves every entry type, mode (incl. setuid/setgid/sticky), owner, mtime, xattr, hardlink, device', async () => {
    const root = join(dir, 'root');
    await mkdir(root);
    const m1 = new Date('2001-01-01T00:00:01Z');
    const tar = await buildTar([
      { name: 'd', type: 'directory', mode: 0o750, uid: 1000, gid: 1001, mtime: m1 },
      {
        name: 'd/suid',
        data: 'x'.repeat(1000),
        mode: 0o4755,
        uid: 12,
        gid: 34,
        pax: { mtime: '1600000000.123456789', 'SCHILY.xattr.user.foo': 'bar', 'SCHILY.xattr.trusted.overlay.opaque': 'y' },
      },
      { name: 'd/hard', type: 'link', linkname: 'd/suid' },
      { name: 'd/sym', type: 'symlink', linkname: '../nowhere', uid: 5, gid: 6, mtime: m1 },
      { name: 'd/chr', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o620, uid: 7, gid: 8 },
      { name: 'd/blk', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660 },
      { name: 'd/fifo', type: 'fifo', mode: 0o600 },
      { name: 'sticky', type: 'directory', mode: 0o1777 },
      { name: 'sgid', type: 'directory', mode: 0o2755 },
      { name: `long/${'n'.repeat(150)}/${'m'.repeat(120)}`, data: 'deep', mode: 0o640 },
      { name: 'empty', data: '', mode: 0o600 },
    ]);
    const r = await applyTar(tar, root);
    expect(r.size).toBe(tar.length);
    expect(r.entries).toBe(11);
    const st = async (p: string) => lstat(join(root, p), { bigint: true });

    const d = await st('d');
    expect([Number(d.mode & 0o7777n), Number(d.uid), Number(d.gid)]).toEqual([0o750, 1000, 1001]);
    expect(d.mtimeNs).toBe(nsOf(m1)); // set after its contents were written
    const s = await st('d/suid');
    expect([Number(s.mode & 0o7777n), Number(s.uid), Number(s.gid), Number(s.size), Number(s.nlink)]).toEqual([0o4755, 12, 34, 1000, 2]);
    expect(s.mtimeNs).toBe(1600000000123456789n);
    const x = xattrs(join(root, 'd/suid'));
    expect(x['user.foo']).toBe('bar');
    expect(x['trusted.overlay.opaque']).toBeUndefined(); // never taken from a layer
    expect((await st('d/hard')).ino).toBe(s.ino);
    const l = await st('d/sym');
    expect(l.isSymbolicLink()).toBe(true);
    expect(await readlink(join(root, 'd/sym'))).toBe('../nowhere');
    expect([Number(l.uid), Number(l.gid)]).toEqual([5, 6]);
    expect(l.mtimeNs).toBe(nsOf(m1));
    const c = await st('d/chr');
    expect(c.isCharacterDevice()).toBe(true);
    expect([Number(c.rdev), Number(c.mode & 0o7777n), Number(c.uid), Number(c.gid)]).toEqual([(1 << 8) | 3, 0o620, 7, 8]);
    const b = await st('d/blk');
    expect(b.isBlockDevice()).toBe(true);
    expect(Number(b.rdev)).toBe(7 << 8);
    const f = await st('d/fifo');
    expect(f.isFIFO()).toBe(true);
    expect(Number(f.mode & 0o7777n)).toBe(0o600);
    expect(Number((await st('sticky')).mode & 0o7777n)).toBe(0o1777);
    expect(Number((await st('sgid')).mode & 0o7777n)).toBe(0o2755);
    expect(await readFile(join(root, `long/${'n'.repeat(150)}/${'m'.repeat(120)}`), 'utf8')).toBe('deep');
    expect((await st('empty')).size).toBe(0n);
    expect((await st('d/chr')).mtimeNs).toBe(nsOf(T0));
  });

  itRoot('reads GNU long names and long link targets (tar --format=gnu)', async () => {
    const src = join(dir, 'src');
    const long = `${'a'.repeat(120)}/${'b'.repeat(120)}`;
    await mkdir(join(src, long), { recursive: true });
    await writeFile(join(src, long, 'f'), 'gnu');
    await symlink(`${long}/f`.replace(/^/, '../'.repeat(0)), join(src, 'lnk'));
    const tarPath = join(dir, 'gnu.tar');
    execFileSync('tar', ['--format=gnu', '-C', src, '-cf', tarPath, '.']);
    const root = join(dir, 'root');
    await mkdir(root);
    const r = await applyTar(readFileSync(tarPath), root);
    expect(r.entries).toBeGreaterThan(3);
    expect(await readFile(join(root, long, 'f'), 'utf8')).toBe('gnu');
    expect(await readlink(join(root, 'lnk'))).toBe(`${long}/f`);
  });

  itRoot('replaces a file by a directory and a directory by a file; dir over dir keeps contents', async () => {
    const root = join(dir, 'root');
    await mkdir(join(root, 'y/sub'), { recursive: true });
    await writeFile(join(root, 'y/sub/old'), 'old');
    await writeFile(join(root, 'x'), 'file');
    await mkdir(join(root, 'keep'));
    await writeFile(join(root, 'keep/old'), 'kept');
    const tar = await buildTar([tc.dir('x', 0o711), tc.file('x/child', 'c'), tc.file('y', 'now a file', 0o600), tc.dir('keep', 0o700)]);
    await applyTar(tar, root);
    expect((await lstat(join(root, 'x'))).isDirectory()).toBe(true);
    expect(await readFile(join(root, 'x/child'), 'utf8')).toBe('c');
    expect(await readFile(join(root, 'y'), 'utf8')).toBe('now a file');
    expect(await readFile(join(root, 'keep/old'), 'utf8')).toBe('kept');
    expect((await lstat(join(root, 'keep'))).mode & 0o7777).toBe(0o700);
  });

  const lowerTree = async (root: string) => {
    await mkdir(join(root, 'a'), { recursive: true });
    await writeFile(join(root, 'a/gone'), '1');
    await writeFile(join(root, 'a/stays'), '2');
    await mkdir(join(root, 'b/deep'), { recursive: true });
    await writeFile(join(root, 'b/deep/x'), '3');
    await mkdir(join(root, 'c/old'), { recursive: true });
    await writeFile(join(root, 'c/old/y'), '4');
    await writeFile(join(root, 'c/olderfile'), '5');
    await mkdir(join(root, 'e/f'), { recursive: true, mode: 0o711 });
    await chown(join(root, 'e'), 7, 8);
    await chmod(join(root, 'e'), 0o711);
  };
  const whiteoutLayer = () =>
    buildTar([
      tc.dir('a'),
      tc.file('a/.wh.gone', ''),
      tc.file('.wh.b', ''),
      tc.dir('c'),
      tc.file('c/new-before', 'nb'),
      tc.file('c/.wh..wh..opq', ''),
      tc.dir('c/sub'),
      tc.file('c/sub/z', 'z'),
      tc.file('e/f/implicit-parents', 'i'),
    ]);

  itRoot('plain mode: whiteouts delete, an opaque dir keeps only what the layer wrote', async () => {
    const root = join(dir, 'root');
    await lowerTree(root);
    await applyTar(Buffer.concat([(await whiteoutLayer()).subarray(0, -1024), await buildTar([tc.file('nothere/.wh.ghost', '')])]), root);
    expect((await readdir(join(root, 'a'))).sort()).toEqual(['stays']);
    await expect(lstat(join(root, 'b'))).rejects.toThrow();
    expect((await readdir(join(root, 'c'))).sort()).toEqual(['new-before', 'sub']);
    expect(await readFile(join(root, 'c/sub/z'), 'utf8')).toBe('z');
    expect(await readdir(join(root, 'nothere'))).toEqual([]); // parent made (containerd's mkparent), nothing deleted
  });

  itRoot('overlay mode: 0:0 char devices and trusted.overlay.opaque; the merged view equals plain mode', async () => {
    const lower = join(dir, 'lower');
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    const merged = join(dir, 'merged');
    const plain = join(dir, 'plain');
    await lowerTree(lower);
    await lowerTree(plain);
    await Promise.all([mkdir(upper), mkdir(work), mkdir(merged)]);
    const layer = await whiteoutLayer();
    await applyTar(layer, { kind: 'overlay', upper, lowers: [lower] });
    const wh = await lstat(join(upper, 'a/gone'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect((await lstat(join(upper, 'b'))).isCharacterDevice()).toBe(true);
    expect(xattrs(join(upper, 'c'))['trusted.overlay.opaque']).toBe('y');
    await applyTar(layer, plain);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    try {
      const view = (s: Awaited<ReturnType<typeof snapshot>>) =>
        Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { type: v.type, mode: v.mode, hash: v.hash, uid: v.uid }]));
      expect(view(await snapshot(merged))).toEqual(view(await snapshot(plain)));
    } finally {
      execFileSync('umount', [merged]);
    }
  });

  itRoot('mount mode: berth-unpack mounts the spec in a private namespace, applies, and leaks no mount', async () => {
    const lower = join(dir, 'lower');
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    const tmp = join(dir, 'tmp');
    await lowerTree(lower);
    await Promise.all([mkdir(upper), mkdir(work), mkdir(tmp)]);
    await applyTar(await whiteoutLayer(), {
      kind: 'mount',
      type: 'overlay',
      source: 'overlay',
      options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`],
      tmpdir: tmp,
    });
    // overlayfs itself turned the deletions into whiteouts in the upper dir
    expect((await lstat(join(upper, 'a/gone'))).isCharacterDevice()).toBe(true);
    expect(await readFile(join(upper, 'c/sub/z'), 'utf8')).toBe('z');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(tmp);
    expect(await readdir(tmp)).toEqual([]);
  });

  itRoot('reports a malformed archive as InvalidArgument and a missing root as Internal', async () => {
    const root = join(dir, 'root');
    await mkdir(root);
    const tar = await buildTar([tc.file('f', 'data')]);
    tar[148] = 0x39; // checksum field: '9' is not octal
    await expect(applyTar(tar, root)).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(applyTar(await buildTar([tc.file('f', 'x')]), join(dir, 'missing'))).rejects.toMatchObject({ kind: 'Internal' });
  });
});
