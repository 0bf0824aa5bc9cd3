import { type ErrorKind, SupervisorError } from './errors';

/**
 * The one table between the error taxonomy and gRPC status codes (containerd's errgrpc), by wire
 * number: berthd's services map errors to codes with it (services/grpc/status.ts), and clients
 * (the client library, the CLI, tests) map a call's status back to an error kind. Conflict
 * travels as FAILED_PRECONDITION and comes back as FailedPrecondition.
 */
export const KIND_TO_CODE: Readonly<Record<ErrorKind, number>> = {
  NotFound: 5,
  AlreadyExists: 6,
  InvalidArgument: 3,
  FailedPrecondition: 9,
  Conflict: 9,
  Unavailable: 14,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  OutOfRange: 11,
  NotImplemented: 12,
  Canceled: 1,
  DeadlineExceeded: 4,
  DataLoss: 15,
  Internal: 13,
};

const CODE_TO_KIND = new Map<number, ErrorKind>(
  (Object.entries(KIND_TO_CODE) as Array<[ErrorKind, number]>).filter(([k]) => k !== 'Conflict').map(([k, c]) => [c, k]),
);
// UNAUTHENTICATED (16) has no kind of its own: the registry and the daemon say PermissionDenied.
CODE_TO_KIND.set(16, 'PermissionDenied');

/** A status code's error kind; UNKNOWN, ABORTED and codes outside gRPC's are Internal. */
export function kindOfCode(code: number): ErrorKind {
  return CODE_TO_KIND.get(code) ?? 'Internal';
}

/** A non-OK call status as an error of the taxonomy, with the server's message. */
export function errorFromStatus(st: { code: number; details: string }, what?: string): SupervisorError {
  const details = st.details || `status ${st.code}`;
  return new SupervisorError(kindOfCode(st.code), what ? `${what}: ${details}` : details);
}
