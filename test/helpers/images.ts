/**
 * Ready-made image specs for tests and benchmarks, plus `buildImages()` which writes a layout and both
 * archive formats into a work dir in one call.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostFile, type FsEntry, type ImageSpec, type LayerEntry } from './oci';
import { writeDockerArchive, writeOciArchive, writeOciImage, type BuiltImage } from './oci';

export const BUSYBOX_BIN = existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';

/** Every applet of the host busybox-static (≈270), as symlinks in /bin. */
function applets(): string[] {
  try {
    return execFileSync(BUSYBOX_BIN, ['--list'], { encoding: 'utf8' })
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s && s !== 'busybox' && !s.includes('/'))
      .sort();
  } catch {
    return [
      'sh',
      'ls',
      'cat',
      'echo',
      'sleep',
      'true',
      'false',
      'id',
      'env',
      'ps',
      'mount',
      'touch',
      'rm',
      'mkdir',
      'stat',
      'sha256sum',
      'wc',
      'head',
      'tail',
      'grep',
      'sed',
      'uname',
      'hostname',
      'kill',
      'test',
    ];
  }
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n';

/** Base filesystem entries of the busybox image (also the lower layer of others). */
export function busyboxEntries(): FsEntry[] {
  const dirs: FsEntry[] = ['bin', 'dev', 'etc', 'proc', 'sys', 'root', 'var', 'usr', 'usr/bin'].map((p) => ({
    path: p,
    type: 'dir',
    mode: p === 'root' ? 0o700 : 0o755,
  }));
  return [
    ...dirs,
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: hostFile(BUSYBOX_BIN) },
    ...applets().map((a): FsEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { path: 'etc/passwd', type: 'file', content: PASSWD },
    { path: 'etc/group', type: 'file', content: GROUP },
    { path: 'etc/hostname', type: 'file', content: 'berth\n' },
  ];
}

/** One layer, ≈1 MB gzipped: /bin/busybox + applet symlinks, /etc/passwd, /etc/group. Cmd ["sh"]. */
export function busyboxImage(name = 'docker.io/library/busybox:latest'): ImageSpec {
  return { name, layers: [{ entries: busyboxEntries() }], config: { Cmd: ['sh'] } };
}

/**
 * Three layers exercising everything an unpacker gets wrong: whiteouts of files and dirs, an opaque
 * dir, a file replaced by a dir (and a dir by a file), a dir deleted then re-created, hardlinks
 * (within a layer: a link to a lower layer's file cannot be made in an overlay upper dir), symlinks (absolute, relative, dangling), char/block devices, a fifo,
 * setuid/setgid/sticky bits, non-root owners, odd mtimes and user xattrs; and in /odd: a PAX long
 * path, a UTF-8 name, an empty file, uids above 65535, a mode-000 dir with content, three names for
 * one inode, a symlink loop and a symlink pointing out of the root.
 */
export function hostileFeaturesImage(name = 'docker.io/library/hostile:latest'): ImageSpec {
  const l1: LayerEntry[] = [
    ...busyboxEntries(),
    { path: 'a', type: 'dir' },
    { path: 'a/keep', type: 'file', content: 'keep me\n' },
    { path: 'a/delete-me', type: 'file', content: 'to be whited out\n' },
    { path: 'deldir', type: 'dir', mode: 0o750 },
    { path: 'deldir/child', type: 'file', content: 'child\n' },
    { path: 'deldir/sub', type: 'dir' },
    { path: 'deldir/sub/grandchild', type: 'file', content: 'gc\n' },
    { path: 'opq', type: 'dir', mode: 0o711, uid: 1000, gid: 1000 },
    { path: 'opq/old1', type: 'file', content: 'old1\n' },
    { path: 'opq/olddir', type: 'dir' },
    { path: 'opq/olddir/old2', type: 'file', content: 'old2\n' },
    { path: 'file-to-dir', type: 'file', content: 'I was a file\n' },
    { path: 'dir-to-file', type: 'dir' },
    { path: 'dir-to-file/inside', type: 'file', content: 'inside\n' },
    { path: 'data', type: 'dir' },
    { path: 'data/target', type: 'file', mode: 0o640, uid: 1000, gid: 100, content: 'hardlink target\n', mtime: 1234567890 },
    { path: 'data/link-in-l1', type: 'hardlink', linkname: 'data/target' },
    { path: 'data/sym-to-change', type: 'symlink', linkname: 'target' },
  ];
  const l2: LayerEntry[] = [
    { path: 'a/delete-me', type: 'whiteout' },
    { path: 'deldir', type: 'whiteout' },
    { path: 'opq', type: 'dir', mode: 0o755, uid: 1000, gid: 1000 },
    { path: 'opq', type: 'opaque' },
    { path: 'opq/new', type: 'file', content: 'new in opaque dir\n' },
    { path: 'file-to-dir', type: 'dir', mode: 0o700 },
    { path: 'file-to-dir/inner', type: 'file', content: 'now a dir\n' },
    { path: 'dir-to-file', type: 'file', content: 'now a file\n' },
    { path: 'data/fresh', type: 'file', content: 'fresh\n' },
    { path: 'data/fresh-link', type: 'hardlink', linkname: 'data/fresh' },
    { path: 'data/abs-symlink', type: 'symlink', linkname: '/data/target' },
    { path: 'data/rel-symlink', type: 'symlink', linkname: '../etc/passwd' },
    { path: 'data/dangling', type: 'symlink', linkname: '/nonexistent/nowhere' },
    { path: 'data/sym-to-change', type: 'file', content: 'symlink replaced by file\n' },
    { path: 'data/xattr', type: 'file', content: 'has xattrs\n', xattrs: { 'user.berth': 'hello', 'user.empty-ish': 'x' } },
    { path: 'dev/null-ish', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
    { path: 'dev/loop-ish', type: 'block', mode: 0o660, gid: 6, devmajor: 7, devminor: 0 },
    { path: 'run', type: 'dir' },
    { path: 'run/fifo', type: 'fifo', mode: 0o600 },
    { path: 'usr/bin/suid', type: 'file', mode: 0o4755, content: '#!/bin/sh\necho suid\n' },
    { path: 'usr/bin/sgid', type: 'file', mode: 0o2755, gid: 50, content: '#!/bin/sh\necho sgid\n' },
    { path: 'sticky', type: 'dir', mode: 0o1777 },
    { path: 'old-mtime', type: 'file', content: 'epoch\n', mtime: 0 },
  ];
  const l3: LayerEntry[] = [
    { path: 'deldir', type: 'dir', mode: 0o700 }, // re-created after deletion: old children must not come back
    { path: 'deldir/reborn', type: 'file', content: 'reborn\n' },
    { path: 'a/keep', type: 'whiteout' },
    { path: 'a/keep', type: 'file', content: 'whiteout then re-add in the same layer\n' },
    { path: 'etc/hostname', type: 'file', content: 'hostile\n', mode: 0o600 },
    { path: 'data/deep/er/still', type: 'dir' }, // parents implied, as some real layers do
    { path: 'data/deep/er/still/file', type: 'file', content: 'deep\n' },
    { path: 'run/fifo', type: 'whiteout' },
    { path: 'odd', type: 'dir' },
    { path: `odd/${'long-name-'.repeat(12)}/${'x'.repeat(110)}`, type: 'file', content: 'PAX path\n' }, // > 100 bytes: PAX path record
    { path: 'odd/héllo wörld ✓.txt', type: 'file', content: 'utf-8 name\n' },
    { path: 'odd/empty', type: 'file', content: '' },
    { path: 'odd/big-ids', type: 'file', uid: 100000, gid: 100001, content: 'user namespace sized ids\n' },
    { path: 'odd/locked', type: 'dir', mode: 0o000 }, // children must still land inside
    { path: 'odd/locked/inside', type: 'file', mode: 0o000, content: 'locked\n' },
    { path: 'odd/n1', type: 'file', content: 'three names\n' },
    { path: 'odd/n2', type: 'hardlink', linkname: 'odd/n1' },
    { path: 'odd/n3', type: 'hardlink', linkname: 'odd/n1' },
    { path: 'odd/loop1', type: 'symlink', linkname: 'loop2' },
    { path: 'odd/loop2', type: 'symlink', linkname: 'loop1' },
    { path: 'odd/escape', type: 'symlink', linkname: '../../../../etc/shadow' }, // must stay a plain link
  ];
  return { name, layers: [{ entries: l1 }, { entries: l2 }, { entries: l3 }], config: { Cmd: ['sh'], Env: ['PATH=/bin:/usr/bin', 'HOSTILE=1'] } };
}

export interface BuiltImageFiles {
  layoutDir: string;
  ociArchive: string;
  dockerArchive: string;
  images: BuiltImage[];
}

/** Writes specs into `<workDir>/layout`, `<workDir>/oci.tar` and `<workDir>/docker.tar`. */
export async function buildImages(workDir: string, specs: ImageSpec[]): Promise<BuiltImageFiles> {
  const layoutDir = join(workDir, 'layout');
  await mkdir(layoutDir, { recursive: true });
  const images: BuiltImage[] = [];
  for (const s of specs) images.push(await writeOciImage(layoutDir, s));
  const ociArchive = join(workDir, 'oci.tar');
  const dockerArchive = join(workDir, 'docker.tar');
  await writeOciArchive(layoutDir, ociArchive);
  await writeDockerArchive(images, dockerArchive);
  return { layoutDir, ociArchive, dockerArchive, images };
}
