import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { KIND_TO_STATUS, kindOfStatus, Status } from '../../transport';
import { BugError, SupervisorError } from '../../core/errors';

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
  return new SupervisorError(kindOfStatus(e.code), e.details || e.message, { cause: e });
}
