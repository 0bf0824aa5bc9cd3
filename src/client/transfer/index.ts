/**
 * berth's client for pull, push, tag, import and export: containerd 2.x's Transfer service with
 * its Streaming streams, on the client library's rpc layer: `client.transfer` (Client makes one
 * on first use, in the client's namespace).
 */
export { TransferClient, TransferOperation, OCI_ARCHIVE, DOCKER_ARCHIVE } from './client';
export type {
  ExportOptions,
  ImportOptions,
  ListTagsOptions,
  OperationOptions,
  PullOptions,
  PushOptions,
  RegistryOptions,
  RepositoryTags,
  SavedImage,
} from './client';
export type { Credentials, CredentialsCallback, CredentialsRequest } from './auth';
export type { Progress } from './progress';
export { hostPlatform, parsePlatform, type Platform } from './platform';
