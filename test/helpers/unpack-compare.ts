/**
 * "berthd unpacks entry for entry like containerd": mount both daemons' views of the same image
 * (by its rootfs diff_ids) read-only, list both trees, and return the differences in words.
 */
import { withImageRootfs } from './snapshot-view';
import { diffTrees, listTree, type TreeEntry, type TreeField } from './tree';

export interface UnpackSource {
  address: string;
  label: string; // e.g. 'berth' / 'containerd', used in the diff lines
  namespace?: string;
  snapshotter?: string; // default overlayfs
}

export async function unpackedTree(src: UnpackSource, diffIds: string[]): Promise<TreeEntry[]> {
  return withImageRootfs(src.address, diffIds, (dir) => listTree(dir), { namespace: src.namespace, snapshotter: src.snapshotter });
}

/** [] when both unpacks agree on every listed field of every entry. The root dir itself is skipped
 * (its mode/mtime come from the snapshotter, not from the image). */
export async function compareUnpacked(
  a: UnpackSource,
  b: UnpackSource,
  diffIds: string[],
  opts: { ignore?: TreeField[]; ignorePaths?: (p: string) => boolean; recentMtimeSince?: number } = {},
): Promise<string[]> {
  const [ta, tb] = [await unpackedTree(a, diffIds), await unpackedTree(b, diffIds)];
  const skip = opts.ignorePaths ?? (() => false);
  // Built images carry fixed old mtimes, so anything from the last day was set by the unpack itself.
  const recentMtimeSince = opts.recentMtimeSince ?? Math.floor(Date.now() / 1000) - 86400;
  return diffTrees(ta, tb, { ignore: opts.ignore, ignorePaths: (p) => p === '' || skip(p), labels: [a.label, b.label], recentMtimeSince });
}
