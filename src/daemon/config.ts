import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { LogLevel } from '../core/logger';

/** Daemon configuration: defaults, then the JSON config file, then command-line flags. */
export const ConfigSchema = z
  .object({
    root: z.string().min(1).default('/var/lib/berth'),
    state: z.string().min(1).default('/run/berth'),
    address: z.string().min(1).default('/run/berth/berthd.sock'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** Snapshotter used when a namespace has no `containerd.io/defaults/snapshotter` label. */
    defaultSnapshotter: z.string().default('overlayfs'),
    /** Cgroup parent for tasks; empty = nest under berthd's own cgroup. */
    cgroupParent: z.string().default(''),
    /** Docker's userns-remap: `USER[:GROUP]`; containers run as the user's subordinate ids (src/tasks/userns-remap.ts). */
    usernsRemap: z.string().min(1).optional(),
    /** Where the subordinate id ranges of usernsRemap are read. */
    subidFiles: z.object({ subuid: z.string().min(1).default('/etc/subuid'), subgid: z.string().min(1).default('/etc/subgid') }).strict().prefault({}),
    gc: z
      .object({
        /** Delay after a mutation before a background collection runs. */
        scheduleDelayMs: z.number().int().min(0).default(100),
      })
      .prefault({}),
    /** Ingests untouched for this long are removed at start-up and by GC. */
    ingestExpiryHours: z.number().positive().default(24 * 7),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

export interface Flags {
  root?: string;
  state?: string;
  address?: string;
  config?: string;
  logLevel?: LogLevel;
  usernsRemap?: string;
}

export function loadConfig(flags: Flags): Config {
  let file: unknown = {};
  if (flags.config) {
    try {
      file = JSON.parse(readFileSync(flags.config, 'utf8'));
    } catch (e) {
      throw new Error(`config ${flags.config}: ${(e as Error).message}`);
    }
  }
  const merged = { ...(file as object) } as Record<string, unknown>;
  for (const k of ['root', 'state', 'address', 'logLevel', 'usernsRemap'] as const) if (flags[k] !== undefined) merged[k] = flags[k];
  const r = ConfigSchema.safeParse(merged);
  if (!r.success) throw new Error(`config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
