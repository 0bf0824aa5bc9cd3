export type { Info, Kind, Snapshotter, Usage } from './types';
export { OverlaySnapshotter, type OverlayOptions } from './overlay';
export { NativeSnapshotter } from './native';
export { upperDir, lowerDirs, compactLowerdir, mountArgs, MOUNT_DATA_LIMIT } from './mounts';
export { diskUsage } from './usage';
