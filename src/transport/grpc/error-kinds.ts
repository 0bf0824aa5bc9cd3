/**
 * The one table between berth's error kinds (core/errors.ts) and gRPC status codes (containerd's
 * errgrpc): berthd's handlers map a kind to a status with it (services/grpc/status.ts), and the
 * client library maps a status back to a kind, so a caller of either sees the same taxonomy.
 */
import type { ErrorKind } from '../../core/errors';
import { Status, type StatusCode } from './codes';

export const KIND_TO_STATUS: Readonly<Record<ErrorKind, StatusCode>> = {
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

/** Conflict travels as FAILED_PRECONDITION (as containerd's) and comes back as that kind. */
const STATUS_TO_KIND = new Map<number, ErrorKind>(
  (Object.entries(KIND_TO_STATUS) as Array<[ErrorKind, StatusCode]>).filter(([k]) => k !== 'Conflict').map(([k, s]) => [s, k]),
);
STATUS_TO_KIND.set(Status.UNAUTHENTICATED, 'PermissionDenied');
STATUS_TO_KIND.set(Status.ABORTED, 'Conflict');

/** The kind a status code stands for; UNKNOWN and anything unlisted are Internal. */
export function kindOfStatus(code: number): ErrorKind {
  return STATUS_TO_KIND.get(code) ?? 'Internal';
}
