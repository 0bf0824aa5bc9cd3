import { dirname, relative, sep } from 'node:path';
import { invalidArgument } from '../core/errors';
import type { Mount } from '../core/types';

/**
 * Helpers over the mount specs snapshotters return (no mounting happens here).
 * The diff service applies layers straight into the writable directory, without mounting.
 */

function option(m: Mount, name: string): string | undefined {
  const prefix = `${name}=`;
  const o = m.options.find((x) => x.startsWith(prefix));
  return o === undefined ? undefined : o.slice(prefix.length);
}

function isReadOnly(m: Mount): boolean {
  return m.options.includes('ro');
}

/**
 * The writable directory of a mount set: the `upperdir` of a single overlay mount, or the
 * source of a single read-write bind mount. InvalidArgument for anything else (views are read-only).
 */
export function upperDir(mounts: readonly Mount[]): string {
  if (mounts.length !== 1) throw invalidArgument(`mounts: expected exactly one mount, got ${mounts.length}`);
  const m = mounts[0]!;
  if (m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')) {
    if (isReadOnly(m)) throw invalidArgument(`mount ${m.source}: read-only bind mount has no writable directory`);
    return m.source;
  }
  if (m.type === 'overlay') {
    const u = option(m, 'upperdir');
    if (!u) throw invalidArgument('overlay mount without upperdir is read-only');
    return u;
  }
  throw invalidArgument(`mount type ${JSON.stringify(m.type)}: cannot find a writable directory`);
}

/**
 * The read-only layers of a mount set, uppermost first: overlay `lowerdir` entries, or the source
 * of a read-only bind mount. A read-write bind mount has no lower layers.
 */
export function lowerDirs(mounts: readonly Mount[]): string[] {
  if (mounts.length !== 1) throw invalidArgument(`mounts: expected exactly one mount, got ${mounts.length}`);
  const m = mounts[0]!;
  if (m.type === 'overlay') return (option(m, 'lowerdir') ?? '').split(':').filter(Boolean);
  if (isReadOnly(m)) return [m.source];
  return [];
}

/** mount(2) copies at most one page of option data. */
export const MOUNT_DATA_LIMIT = 4096;

/**
 * Deep images: an overlay `lowerdir=` list of absolute paths can exceed the one-page limit of
 * mount(2) data (about 90 layers under /var/lib/berth). Like containerd's mount package
 * (compactLowerdirOption), the mounter rewrites the layer paths relative to their common parent
 * directory (`<root>/snapshots`, so each layer is just `<id>/fs`) and performs the mount with that
 * directory as its working directory. Snapshotters return absolute paths (as containerd does,
 * ctr compacts by itself); whoever mounts here (tests, the task helper) calls this first.
 *
 * Returns the mount unchanged (and no cwd) when the option data already fits.
 */
export function compactLowerdir(m: Mount): { mount: Mount; cwd?: string } {
  if (m.type !== 'overlay' || m.options.join(',').length < MOUNT_DATA_LIMIT) return { mount: m };
  const lowers = (option(m, 'lowerdir') ?? '').split(':').filter(Boolean);
  if (lowers.length < 2) return { mount: m };
  let common = dirname(lowers[0]!);
  const within = (p: string) => p === common || p.startsWith(common.endsWith(sep) ? common : common + sep);
  while (!lowers.every(within) && common !== dirname(common)) common = dirname(common);
  if (common === dirname(common)) return { mount: m };
  const rel = lowers.map((p) => relative(common, p));
  const options = m.options.map((o) => (o.startsWith('lowerdir=') ? `lowerdir=${rel.join(':')}` : o));
  return { mount: { ...m, options }, cwd: common };
}

/** Arguments for mount(8) (`mount -t TYPE -o OPTS SOURCE TARGET`), e.g. for tests and tools. */
export function mountArgs(m: Mount, target: string): string[] {
  const type = m.type === 'bind' ? [] : ['-t', m.type];
  return [...type, '-o', m.options.join(','), m.source, target];
}
