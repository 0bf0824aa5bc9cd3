import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { Status, type StatusCode } from '../../transport';
import { BugError, type ErrorKind, SupervisorError } from '../../core/errors';

/** The one table from the error taxonomy to gRPC status codes (containerd's errgrpc). */
const KIND_TO_STATUS: Record<ErrorKind, StatusCode> = {
  NotFound: Status.NOT_FOUND,
  AlreadyExists: Status.ALREADY_EXISTS,
  InvalidArgument: Status.INVALID_ARGUMENT,
  FailedPrecondition: Status.FAILED_PRECONDITION,
  Conflict: Status.FAILED_PRECONDITION,
  Unavailable: Status.UNAVAILABLE,
  PermissionDenied: Status.PERMISSION_DENIED,
  ResourceExhausted: Status.RESOURCE_EXHAUSTED,
  OutOfRange: Status.OUT_OF_RANGE,
  NotImplemented: Status.UNIMPLEMENTED,
  Canceled: Status.CANCELLED,
  DeadlineExceeded: Status.DEADLINE_EXCEEDED,
  DataLoss: Status.DATA_LOSS,
  Internal: Status.INTERNAL,
};

const STATUS_TO_KIND = new Map<number, ErrorKind>(
  (Object.entries(KIND_TO_STATUS) as Array<[ErrorKind, StatusCode]>)
    .filter(([k]) => k !== 'Conflict')
    .map(([k, s]) => [s, k]),
);

export interface StatusObject {
  code: number;
  details: string;
  metadata?: Metadata;
}

function isServiceError(e: unknown): e is ServiceError {
  return typeof e === 'object' && e !== null && typeof (e as ServiceError).code === 'number' && 'details' in e;
}

/** Error → gRPC status. Details carry the message, never the stack. */
export function toStatus(e: unknown): StatusObject {
  if (e instanceof SupervisorError) return { code: KIND_TO_STATUS[e.kind], details: e.message };
  if (isServiceError(e)) return { code: e.code, details: e.details };
  if (e instanceof BugError) return { code: Status.INTERNAL, details: e.message };
  const msg = e instanceof Error ? e.message : String(e);
  return { code: Status.UNKNOWN, details: msg };
}

/** gRPC error → taxonomy (for the client library, CLI and tests). */
export function fromStatus(e: ServiceError): SupervisorError {
  const kind = STATUS_TO_KIND.get(e.code) ?? 'Internal';
  return new SupervisorError(kind, e.details || e.message, { cause: e });
}
