/** Maps helper errno values (numbers from the C side) into the error taxonomy. */
import { constants } from 'node:os';
import {
  SupervisorError,
  alreadyExists,
  internal,
  invalidArgument,
  notFound,
  notImplemented,
  permissionDenied,
  resourceExhausted,
  unavailable,
} from '../../core/errors';

const NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}

/** `what` names the object, e.g. `container ctr1`; msg is the helper's message. */
export function errnoToError(errno: number, what: string, msg: string, cause?: unknown): SupervisorError {
  const message = `${what}: ${msg}`;
  const opts = cause === undefined ? undefined : { cause };
  switch (NAMES.get(errno)) {
    case 'ENOENT':
    case 'ESRCH':
      return notFound(message, opts);
    case 'EEXIST':
      return alreadyExists(message, opts);
    case 'EINVAL':
    case 'E2BIG':
    case 'ENAMETOOLONG':
      return invalidArgument(message, opts);
    case 'EPERM':
    case 'EACCES':
      return permissionDenied(message, opts);
    case 'EBUSY':
      return unavailable(message, opts);
    case 'ENOSPC':
    case 'ENOMEM':
    case 'EAGAIN':
      return resourceExhausted(message, opts);
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
    case 'ENOSYS':
    case 'ENOTTY':
      return notImplemented(message, opts);
    default:
      return internal(message, opts);
  }
}
