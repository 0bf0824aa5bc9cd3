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
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
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
      const st = lstatSync(p);
      if (st.isCharacterDevice() && st.rdev === 0) return undefined; // whiteout
      if (!st.isFile() || st.size > maxBytes) return undefined;
      return readFileSync(p, 'utf8');
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw e;
    }
  }
  return undefined;
}
