import type { z } from 'zod';
import { invalidArgument } from '../../core/errors';

/**
 * zod for JSON a request carries inside an Any (e.g. an OCI LinuxResources): a malformed value is
 * InvalidArgument naming each bad field. Protobuf requests need none of this: the generated
 * decoder already gives every field its type and default (see grpc/api-types.ts).
 */
export function parseRequest<T extends z.ZodType>(schema: T, req: unknown, what = 'malformed request'): z.infer<T> {
  const r = schema.safeParse(req);
  if (!r.success) throw invalidArgument(`${what}: ${r.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
  return r.data;
}
