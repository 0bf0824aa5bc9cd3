/**
 * berth's client library, the package's entry (`require('berth')`): a typed client for berthd's
 * gRPC API (containerd's services and berth's engine) over berth's own HTTP/2 channel. It loads
 * neither grpc-js nor a .proto parser, and each service's generated code only when first used.
 */
export { Client, DEFAULT_ADDRESS, DEFAULT_NAMESPACE, type ClientOptions, type EngineClient } from './client';
export type { CallOptions, DuplexCall, ResponseStream } from './rpc';
export type { ClientMethod, ServiceClient } from './service';
export { Session, type SessionOutput, type SessionReady } from './session';
export { CallError } from './errors';
export { TransferOperation, OCI_ARCHIVE, DOCKER_ARCHIVE, hostPlatform, parsePlatform, type Platform, type Progress } from './transfer';
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
  Credentials,
  CredentialsCallback,
  CredentialsRequest,
} from './transfer';
export type { TransferClient } from './transfer/client';
export {
  SupervisorError,
  type ErrorKind,
  isNotFound,
  isAlreadyExists,
  isInvalidArgument,
  isFailedPrecondition,
  isUnavailable,
  isCanceled,
  errorKind,
} from '../core/errors';
export { fromTimestamp, toTimestamp } from '../api/timestamp';
export type { DeepPartial } from '../api/descriptors';
/** The engine API's message types (berth.engine.v1). */
export type * as engine from '../api/gen/berth/engine/v1/engine';
