import type { Logger } from './logger';
import { nullLogger } from './logger';

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
