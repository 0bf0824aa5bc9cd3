/**
 * A call's failure as berth's error taxonomy (core/errors.ts): a SupervisorError whose `kind`
 * is the status mapped back through the transport's one table, and whose message is the
 * server's own text (no `5 NOT_FOUND:` prefix). The status code and the method stay on the
 * error for callers that want them, under names that are not `code` (a numeric `code` would
 * read as a gRPC status to other libraries).
 */
import { SupervisorError, unavailable } from '../core/errors';
import { kindOfStatus } from '../transport';

export class CallError extends SupervisorError {
  constructor(
    /** The gRPC status code. */
    readonly grpcStatus: number,
    message: string,
    /** `/package.Service/Method`. */
    readonly method: string,
  ) {
    super(kindOfStatus(grpcStatus), message);
  }
}

export function callError(code: number, details: string, method: string): CallError {
  return new CallError(code, details || `${method} failed (status ${code})`, method);
}

/** The daemon could not be reached: Unavailable, with the address and what the system said. */
export function connectError(address: string, e: unknown): SupervisorError {
  if (e instanceof SupervisorError) return e;
  const code = (e as { code?: unknown })?.code;
  const why =
    code === 'ENOENT'
      ? 'no such socket'
      : code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'EACCES'
          ? 'permission denied'
          : ((e as Error)?.message ?? String(e));
  return unavailable(`cannot connect to berthd at ${address}: ${why} (is berthd running? set --address or BERTH_ADDRESS)`, { cause: e });
}
