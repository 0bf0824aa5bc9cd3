import type { Logger } from './logger';
import { nullLogger } from './logger';
import { failedPrecondition } from './errors';

/**
 * Explicit request context (containerd's ctx values, made explicit). `ns` is the
 * `containerd-namespace` header, `lease` the `containerd-lease` header.
 */
export interface Ctx {
  readonly ns: string;
  readonly lease?: string;
  readonly signal?: AbortSignal;
  readonly log: Logger;
}

export function background(ns: string, extra: Partial<Ctx> = {}): Ctx {
  return { ns, log: nullLogger, ...extra };
}

/** containerd's namespaces.NamespaceRequired: stores refuse to act outside a namespace. */
export function namespaceRequired(ctx: Ctx): string {
  if (!ctx.ns) throw failedPrecondition('namespace is required');
  return ctx.ns;
}
