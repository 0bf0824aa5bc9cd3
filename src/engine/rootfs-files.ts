/**
 * Reads small files (/etc/passwd, /etc/group) out of a container's root filesystem before it
 * runs, without mounting it: a bind mount is its source dir; an overlay is looked up layer by
 * layer, upper first, as overlayfs would (a 0/0 character device is a whiteout). Opaque
 * directories need an xattr Node cannot read; the files asked for here live in /etc, which
 * images do not make opaque in practice, so a lower /etc/passwd is then still found.
 *
 * Synchronous: a look-up is a few small local reads (berthd's own snapshot dirs), and done
 * through the threadpool each lstat, open, read and close was a round trip of its own, a dozen
 * in sequence on Engine/Create's path for /etc/passwd and /etc/group.
 *
 * A layer is the image's, and a running container's upper dir is the container's to change: a
 * directory on the way that resolves outside its layer (`etc -> /`) makes the file absent, and the
 * file itself is opened without following a symlink or waiting on a FIFO (a blocking read here
 * would stop berthd's event loop), then checked as opened.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { errnoCode } from '../core/errors';
import type { Mount } from '../core/types';

/** The dirs to look in, topmost first. */
export function layerDirs(mounts: readonly Mount[]): string[] {
  if (mounts.length !== 1) return [];
  const m = mounts[0]!;
  if (m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')) return [m.source];
  if (m.type !== 'overlay') return [];
  const opt = (k: string) => m.options.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
  return [opt('upperdir'), ...(opt('lowerdir') ?? '').split(':')].filter((d): d is string => !!d);
}

/** The file's content, or undefined when it does not exist (or is not a regular file). */
export function readRootfsFile(mounts: readonly Mount[], path: string, maxBytes = 1 << 20): string | undefined {
  const rel = normalize(`/${path}`).slice(1);
  for (const dir of layerDirs(mounts)) {
    const p = join(dir, rel);
    try {
      const parent = realpathSync(dirname(p));
      const root = realpathSync(dir);
      if (parent !== root && !parent.startsWith(root + sep)) return undefined;
      const file = join(parent, rel.slice(rel.lastIndexOf('/') + 1));
      const st = lstatSync(file);
      if (st.isCharacterDevice() && st.rdev === 0) return undefined; // whiteout
      return st.isFile() ? readRegular(file, maxBytes) : undefined;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw e;
    }
  }
  return undefined;
}

/** A regular file's text, checked as opened (it may have been swapped since the lstat); undefined for anything else. */
function readRegular(p: string, maxBytes: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (errnoCode(e) === 'ELOOP') return undefined; // a symlink
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}
