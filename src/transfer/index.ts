export { TransferService, type ListTagsRequest, type ListTagsResult, type TransferOptions } from './service';
export type { PullRequest, PullResult, UnpackRequest, Unpacked } from './pull';
export type { PushRequest, PushResult } from './push';
export type { ExportRequest } from './export';
export type { ImportRequest } from './import';
export type { LayerApplierApi, LeaseManager, Progress, ProgressFn, RegistryFactory, RegistryOptions, SnapshotterApi, TransferStores } from './types';
export { imageNames, type ImageDestination, type ImageReference, type NamedImage } from './naming';
export { progressStream } from './progress';
