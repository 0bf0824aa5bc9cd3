/**
 * The single error taxonomy (containerd's errdefs). Domain code throws these; only
 * services/grpc/status.ts turns a kind into a gRPC status. Never put a numeric `code`
 * on an error here: grpc-js would read it as a status code.
 */
export type ErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'Conflict'
  | 'Unavailable'
  | 'PermissionDenied'
  | 'ResourceExhausted'
  | 'OutOfRange'
  | 'NotImplemented'
  | 'Canceled'
  | 'DeadlineExceeded'
  | 'DataLoss'
  | 'Internal';

export class SupervisorError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = `${kind}Error`;
  }
}

/** A bug in berth, never bad user input. Surfaces as INTERNAL. */
export class BugError extends Error {
  constructor(message: string) {
    super(`bug: ${message}`);
    this.name = 'BugError';
  }
}

type Cause = { cause?: unknown };
const make = (kind: ErrorKind) => (message: string, opts?: Cause) => new SupervisorError(kind, message, opts);

/** Messages read `<object> <id>: <problem>`, e.g. `content sha256:ab..: not found`. */
export const notFound = make('NotFound');
export const alreadyExists = make('AlreadyExists');
export const invalidArgument = make('InvalidArgument');
export const failedPrecondition = make('FailedPrecondition');
export const conflict = make('Conflict');
export const unavailable = make('Unavailable');
export const permissionDenied = make('PermissionDenied');
export const resourceExhausted = make('ResourceExhausted');
export const outOfRange = make('OutOfRange');
export const notImplemented = make('NotImplemented');
export const canceled = make('Canceled');
export const deadlineExceeded = make('DeadlineExceeded');
export const dataLoss = make('DataLoss');
export const internal = make('Internal');

export function errorKind(e: unknown): ErrorKind | undefined {
  return e instanceof SupervisorError ? e.kind : undefined;
}
const is =
  (kind: ErrorKind) =>
  (e: unknown): boolean =>
    errorKind(e) === kind;
export const isNotFound = is('NotFound');
export const isAlreadyExists = is('AlreadyExists');
export const isInvalidArgument = is('InvalidArgument');
export const isFailedPrecondition = is('FailedPrecondition');
export const isUnavailable = is('Unavailable');
export const isCanceled = is('Canceled');
export const isResourceExhausted = is('ResourceExhausted');

/** Node's system error codes (string `code`, e.g. 'ENOENT'). */
export function errnoCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * Converts an fs/syscall error into the taxonomy at the call site, keeping it as the cause.
 * `what` names the object: `content sha256:..`, `ingest ref foo`.
 */
export function fromErrno(e: unknown, what: string): SupervisorError {
  if (e instanceof SupervisorError) return e;
  const code = errnoCode(e);
  const msg = `${what}: ${(e as Error)?.message ?? String(e)}`;
  switch (code) {
    case 'ENOENT':
      return notFound(`${what}: not found`, { cause: e });
    case 'EEXIST':
      return alreadyExists(`${what}: already exists`, { cause: e });
    case 'EINVAL':
      return invalidArgument(msg, { cause: e });
    case 'EPERM':
    case 'EACCES':
      return permissionDenied(msg, { cause: e });
    case 'EBUSY':
      return unavailable(msg, { cause: e });
    case 'ENOSPC':
    case 'ENOMEM':
      return resourceExhausted(msg, { cause: e });
    default:
      return internal(msg, { cause: e });
  }
}
