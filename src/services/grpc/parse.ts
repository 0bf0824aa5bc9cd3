import type { z } from 'zod';
import { invalidArgument } from '../../core/errors';

/** Zod at the edge: a malformed request is InvalidArgument naming each bad field. */
export function parseRequest<T extends z.ZodType>(schema: T, req: unknown, what = 'malformed request'): z.infer<T> {
  const r = schema.safeParse(req);
  if (!r.success) throw invalidArgument(`${what}: ${r.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
  return r.data;
}
