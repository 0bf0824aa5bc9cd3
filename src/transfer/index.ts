export { TransferService, type TransferOptions } from './service';
export type { PullRequest, PullResult } from './pull';
export type { PushRequest, PushResult } from './push';
export type { ExportRequest } from './export';
export type { ImportRequest } from './import';
export type { LayerApplierApi, LeaseManager, Progress, ProgressFn, RegistryFactory, SnapshotterApi, TransferStores } from './types';
export { progressStream } from './progress';
