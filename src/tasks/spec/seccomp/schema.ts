/**
 * The OCI `linux.seccomp` object, structurally (zod, strict: unknown keys are refused). Names of
 * actions, architectures, operators and flags are checked by toSeccompRequest with messages that
 * say which entry is wrong; both run before anything starts.
 */
import { z } from 'zod';

/** u64 argument values: JSON numbers (exact up to 2^53, checked later) or bigints from code. */
const u64 = z.union([z.number().int().min(0), z.bigint().min(0n)]);
const errno = z.number().int().min(0);

export const OciSeccompArgSchema = z.strictObject({
  index: z.number().int().min(0),
  value: u64,
  valueTwo: u64.optional(),
  op: z.string(),
});

export const OciSyscallSchema = z.strictObject({
  names: z.array(z.string()),
  action: z.string(),
  errnoRet: errno.optional(),
  args: z.array(OciSeccompArgSchema).nullish(),
});

export const OciSeccompSchema = z.strictObject({
  defaultAction: z.string().optional(),
  defaultErrnoRet: errno.optional(),
  architectures: z.array(z.string()).nullish(),
  flags: z.array(z.string()).nullish(),
  listenerPath: z.string().optional(),
  listenerMetadata: z.string().optional(),
  syscalls: z.array(OciSyscallSchema).nullish(),
});

export type OciSeccomp = z.infer<typeof OciSeccompSchema>;
export type OciSyscall = z.infer<typeof OciSyscallSchema>;
export type OciSeccompArg = z.infer<typeof OciSeccompArgSchema>;
