import { lstat, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { applyTar, buildTar, cleanup, itRoot, tc, tempDir } from './util';

/**
 * berth-unpack's per-file shortcuts (native/unpack/apply.c) give exactly what the full sequence
 * gave: entries are created before anything is looked up (the name taken: replace, as before),
 * the parent directory is looked up once per run of entries (and again after anything was
 * removed), and in a fresh tree a file is created with its final permission bits and owner,
 * skipping fchmod/fchown only where nothing could alter them.
 */

/** A 512-byte ustar header (for the one case tar-stream cannot write: a binary pax xattr value). */
function ustar(name: string, type: string, size: number, mode: number): Buffer {
  const h = Buffer.alloc(512);
  const oct = (v: number, off: number, len: number) => h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
  h.write(name, 0, 100, 'utf8');
  oct(mode, 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(size, 124, 12);
  oct(1580608922, 136, 12);
  h.write('        ', 148, 8, 'ascii');
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\x0000', 257, 8, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

/** A dir whose pax header carries a binary xattr, then the rest of a tar-stream tar. */
function dirWithXattr(name: string, mode: number, key: string, value: Buffer, rest: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` SCHILY.xattr.${key}=`), value, Buffer.from('\n')]);
  let len = body.length;
  while (String(len + String(len).length).length !== String(len).length) len++;
  const rec = Buffer.concat([Buffer.from(String(len + String(len).length)), body]);
  return Buffer.concat([ustar('PaxHeaders/x', 'x', rec.length, 0o644), pad(rec), ustar(`${name}/`, '5', 0, mode), rest]);
}

/** POSIX ACL xattr: version 2, then (tag u16, perm u16, id u32) entries. */
function acl(entries: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(4 + entries.length * 8);
  b.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm], i) => {
    b.writeUInt16LE(tag, 4 + i * 8);
    b.writeUInt16LE(perm, 6 + i * 8);
    b.writeUInt32LE(0xffffffff, 8 + i * 8);
  });
  return b;
}

describe('berth-unpack per-file shortcuts', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('berth-fastpath-');
  });
  afterEach(async () => cleanup(dir));
  const root = async (n: string) => {
    await mkdir(join(dir, n));
    return join(dir, n);
  };

  itRoot('owners and modes are exact: a setgid parent, setuid/setgid files, other owners', async () => {
    const tar = await buildTar([
      { name: 'sg', type: 'directory', mode: 0o2775, gid: 1234 },
      { name: 'sg/root-owned', type: 'file', data: 'a', mode: 0o644 },
      { name: 'sg/group-owned', type: 'file', data: 'b', mode: 0o640, gid: 1234 },
      { name: 'sg/link', type: 'symlink', linkname: 'root-owned', mode: 0o777 },
      { name: 'sg/sub', type: 'directory', mode: 0o755 },
      { name: 'suid', type: 'file', data: 'c', mode: 0o4755 },
      { name: 'other', type: 'file', data: 'd', mode: 0o6750, uid: 1000, gid: 1001 },
      { name: 'readonly', type: 'file', data: 'e', mode: 0o444 },
      { name: 'owner-read', type: 'file', data: 'f', mode: 0o400 },
    ]);
    const r = await root('r');
    await applyTar(tar, { kind: 'overlay', upper: r });
    const st = async (p: string) => {
      const s = await lstat(join(r, p));
      return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
    };
    expect(await st('sg')).toEqual({ mode: 0o2775, uid: 0, gid: 1234 });
    expect(await st('sg/root-owned')).toEqual({ mode: 0o644, uid: 0, gid: 0 }); // not the parent's group
    expect(await st('sg/group-owned')).toEqual({ mode: 0o640, uid: 0, gid: 1234 });
    expect((await st('sg/link')).gid).toBe(0);
    expect(await st('sg/sub')).toEqual({ mode: 0o755, uid: 0, gid: 0 }); // no inherited setgid bit
    expect(await st('suid')).toEqual({ mode: 0o4755, uid: 0, gid: 0 });
    expect(await st('other')).toEqual({ mode: 0o6750, uid: 1000, gid: 1001 });
    expect(await st('readonly')).toEqual({ mode: 0o444, uid: 0, gid: 0 });
    expect(await st('owner-read')).toEqual({ mode: 0o400, uid: 0, gid: 0 });
    expect(await readFile(join(r, 'readonly'), 'utf8')).toBe('e');
  });

  itRoot('a default ACL set by the layer does not mask the modes of what is created under it', async () => {
    // user::rwx group::--- other::---: without an explicit chmod a new 0644 file would be 0600.
    const rest = await buildTar([
      { name: 'acl/f', type: 'file', data: 'x', mode: 0o644 },
      { name: 'acl/d', type: 'directory', mode: 0o755 },
      { name: 'acl/d/g', type: 'file', data: 'y', mode: 0o664 },
    ]);
    const tar = dirWithXattr(
      'acl',
      0o755,
      'system.posix_acl_default',
      acl([
        [0x01, 7],
        [0x04, 0],
        [0x20, 0],
      ]),
      rest,
    );
    const r = await root('r');
    await applyTar(tar, { kind: 'overlay', upper: r });
    expect((await lstat(join(r, 'acl/f'))).mode & 0o777).toBe(0o644);
    expect((await lstat(join(r, 'acl/d'))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(r, 'acl/d/g'))).mode & 0o777).toBe(0o664);
  });

  itRoot('the cached parent is not used after something was removed: a dir replaced by a symlink, a whiteout', async () => {
    const tar = await buildTar([
      tc.dir('a'),
      tc.file('a/x', 'x'),
      tc.dir('b'),
      tc.symlink('b', 'a'), // replaces dir a
      tc.file('a/y', 'y'), // through the symlink: b/y
      tc.dir('c'),
      tc.file('c/1', '1'),
      tc.file('.wh.c', ''), // plain mode: c is deleted
      tc.file('c/2', '2'), // c is created again, implicitly
      tc.file('d', 'file'),
      tc.dir('d'), // a dir over a file
      tc.file('d/3', '3'),
    ]);
    const r = await root('plain');
    await applyTar(tar, r);
    expect((await lstat(join(r, 'a'))).isSymbolicLink()).toBe(true);
    expect((await readdir(join(r, 'b'))).sort()).toEqual(['y']);
    expect(await readdir(join(r, 'c'))).toEqual(['2']);
    expect(await readFile(join(r, 'd/3'), 'utf8')).toBe('3');
  });

  itRoot('an entry naming the root is ignored, as containerd ignores it: the root keeps its mode and times', async () => {
    const r = await root('rootentry');
    const before = await lstat(r);
    await applyTar(await buildTar([{ name: './', type: 'directory', mode: 0o711, uid: 1000 }, tc.file('f', 'x')]), r);
    const after = await lstat(r);
    expect({ mode: after.mode, uid: after.uid }).toEqual({ mode: before.mode, uid: before.uid });
    expect(await readdir(r)).toEqual(['f']);
  });

  itRoot('into a tree that is not empty, what is in the way is replaced and dir over dir keeps its contents', async () => {
    const r = await root('full');
    await applyTar(await buildTar([tc.dir('k'), tc.file('k/keep', 'old'), tc.file('f', 'old'), tc.dir('g'), tc.file('g/in', 'z')]), r);
    await applyTar(
      await buildTar([{ name: 'k', type: 'directory', mode: 0o700 }, tc.file('f', 'new', 0o600), tc.file('g', 'was a dir'), tc.file('k/new', 'n')]),
      r,
    );
    expect((await readdir(join(r, 'k'))).sort()).toEqual(['keep', 'new']);
    expect((await lstat(join(r, 'k'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(r, 'f'), 'utf8')).toBe('new');
    expect((await lstat(join(r, 'f'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(r, 'g'), 'utf8')).toBe('was a dir');
  });
});
