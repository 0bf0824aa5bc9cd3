import { invalidArgument, notImplemented } from '../core/errors';
import type { Mount } from '../core/types';
import type { UnpackTarget } from './unpack';

/** Overlay options whose meaning berth knows: applying into upperdir directly is then exact. */
const KNOWN_OVERLAY_OPTIONS = new Set(['lowerdir', 'upperdir', 'workdir', 'index', 'userxattr', 'redirect_dir', 'metacopy', 'volatile', 'rw']);

/**
 * Chooses how to apply onto the mounts Diff.Apply received (the snapshotter's Prepare mounts):
 * a single bind → its source dir (plain); overlay with upperdir → the upper dir directly
 * (containerd's overlay applier writes whiteouts regardless of the lowers; overlayfs then
 * shows the same merged view), anything else → mounted by berth-unpack in a private mount
 * namespace under `tmpdir`.
 */
export function targetForMounts(mounts: readonly Mount[], tmpdir: string): UnpackTarget {
  if (mounts.length === 0) throw invalidArgument('diff apply: no mounts given');
  if (mounts.length > 1) throw notImplemented(`diff apply: ${mounts.length} stacked mounts are not supported`);
  const m = mounts[0]!;
  const opts = m.options ?? [];
  if (opts.includes('ro')) throw invalidArgument(`diff apply: mount ${m.type} ${m.source} is read-only`);
  if (m.type === 'bind' || opts.includes('bind') || opts.includes('rbind')) {
    if (!m.source.startsWith('/')) throw invalidArgument(`diff apply: bind source ${JSON.stringify(m.source)} is not absolute`);
    return { kind: 'plain', root: m.source };
  }
  if (m.type === 'overlay') {
    const kv = opts.map((o) => {
      const i = o.indexOf('=');
      return i < 0 ? [o, ''] : [o.slice(0, i), o.slice(i + 1)];
    });
    const upper = kv.find(([k]) => k === 'upperdir')?.[1];
    if (!upper) throw invalidArgument('diff apply: overlay mount has no upperdir (read-only)');
    const lowers = (kv.find(([k]) => k === 'lowerdir')?.[1] ?? '').split(':').filter(Boolean);
    if (kv.every(([k]) => KNOWN_OVERLAY_OPTIONS.has(k!)) && upper.startsWith('/')) return { kind: 'overlay', upper, lowers };
  }
  return { kind: 'mount', type: m.type, source: m.source, options: [...opts], tmpdir };
}
