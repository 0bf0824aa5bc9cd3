/**
 * berth's client for pull, push, tag, import and export: containerd 2.x's Transfer service with
 * its Streaming streams, over berth's own HTTP/2 client channel. Self-contained (it needs only an
 * H2Channel and a namespace) so that the client library's Client can hold one per namespace.
 */
export { TransferClient, TransferOperation, OCI_ARCHIVE, DOCKER_ARCHIVE } from './client';
export type { ExportOptions, ImportOptions, OperationOptions, PullOptions, PushOptions, RegistryOptions, SavedImage } from './client';
export type { Credentials, CredentialsCallback, CredentialsRequest } from './auth';
export type { Progress } from './progress';
export { hostPlatform, parsePlatform, type Platform } from './platform';
