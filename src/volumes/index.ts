export type { CreateVolumeOptions, PruneResult, Volume, VolumeFilters, VolumeRequest, Volumes } from './types';
export { LocalVolumes, type LocalVolumesOptions } from './local';
export { ANONYMOUS_LABEL, anonymousVolumeName, validateVolumeName } from './names';
export { LOCAL_DRIVER } from './options';
