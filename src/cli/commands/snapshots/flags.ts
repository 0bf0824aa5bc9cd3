/** The snapshotter flag the snapshot commands share (ctr's `--snapshotter`). */
export const SNAPSHOTTER_FLAG = { type: 'string', desc: 'The snapshotter', placeholder: 'string', defaultText: '"overlayfs"' } as const;
export const snapshotterOf = (f: { snapshotter?: string }) => f.snapshotter || process.env.BERTH_SNAPSHOTTER || 'overlayfs';
/** ctr's spelling of a snapshot kind: `Committed`. */
export const kindName = (k: string) => k.charAt(0) + k.slice(1).toLowerCase();
