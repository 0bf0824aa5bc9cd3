/** grpc-js's Metadata and the server's CallMetadata both read this way. */
export interface MetadataReader {
  get(key: string): Array<string | Buffer>;
}
import type { Ctx } from '../../core/context';
import { failedPrecondition, invalidArgument } from '../../core/errors';
import { isValidId, validateLeaseId } from '../../core/identifiers';
import type { Logger } from '../../core/logger';

export const NAMESPACE_HEADER = 'containerd-namespace';
export const LEASE_HEADER = 'containerd-lease';

function header(md: MetadataReader, name: string): string | undefined {
  const v = md.get(name)[0];
  return v === undefined ? undefined : String(v);
}

/**
 * Builds the request context from call metadata. The namespace is optional here
 * (Version and Namespaces/List need none); `requireNamespace` enforces it.
 */
export function ctxFromMetadata(md: MetadataReader, log: Logger, signal?: AbortSignal | (() => AbortSignal)): Ctx & { ns: string } {
  const ns = header(md, NAMESPACE_HEADER) ?? '';
  if (ns && !isValidId(ns)) throw invalidArgument(`namespace ${JSON.stringify(ns.slice(0, 80))}: invalid namespace name`);
  const lease = header(md, LEASE_HEADER) || undefined;
  // Lease ids follow the looser lease rule: ctr draws ids such as `511965754-ZLU_`.
  if (lease !== undefined) validateLeaseId(lease);
  if (typeof signal !== 'function') return { ns, lease, signal, log };
  // A signal factory is called on first use only (see handlers.ts cancellation()).
  let made: AbortSignal | undefined;
  return {
    ns,
    lease,
    log,
    get signal() {
      return (made ??= signal());
    },
  };
}

/** containerd's namespaces.NamespaceRequired: a missing namespace is FailedPrecondition. */
export function requireNamespace(ctx: Ctx): Ctx {
  if (!ctx.ns) throw failedPrecondition('namespace is required: set the containerd-namespace header');
  return ctx;
}
