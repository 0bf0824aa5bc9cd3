import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RESERVED_FREE_BYTES } from '../core/node/space';

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
    subidFiles: z
      .object({ subuid: z.string().min(1).default('/etc/subuid'), subgid: z.string().min(1).default('/etc/subgid') })
      .strict()
      .prefault({}),
    gc: z
      .object({
        /** Delay after a mutation before a background collection runs. */
        scheduleDelayMs: z.number().int().min(0).default(100),
      })
      .prefault({}),
    /** Ingests untouched for this long are removed at start-up and by GC. */
    ingestExpiryHours: z
      .number()
      .positive()
      .default(24 * 7),
    /** Container networking (CNI bridge networks; src/engine/network). */
    network: z
      .object({
        /** Where the CNI plugins are: Debian's containernetworking-plugins, then upstream's default. */
        pluginDirs: z.array(z.string().min(1)).min(1).default(['/usr/lib/cni', '/opt/cni/bin']),
        /** New networks' subnets are /24s of this (10.213/16: apart from Docker's 172.17-31/16 and 192.168/16, nerdctl's 10.4/16, Podman's 10.88-89/16). */
        pool: z.string().default('10.213.0.0/16'),
        /** The default network ("bridge"): its subnet (another from the pool if the host routes it) and bridge (Docker's is docker0, nerdctl's nerdctl0). */
        defaultSubnet: z.string().default('10.213.0.0/24'),
        defaultBridge: z
          .string()
          .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/)
          .default('berth0'),
        /** berth's iptables chains: <this>-1, -2 (isolation) and -F (forward accepts) in filter, -M (masquerade) in nat. */
        isolationChain: z
          .string()
          .regex(/^[A-Z0-9][A-Z0-9_-]{0,25}$/)
          .default('BERTH-ISOLATION'),
        /** Where `-p` publishes when it names no address: this host only (Docker: 0.0.0.0). */
        defaultPublishAddress: z.string().default('127.0.0.1'),
        /** The resolver on each user network's gateway. */
        dnsPort: z.number().int().min(1).max(65535).default(53),
        /** Where it forwards names that are not containers' (`ip` or `ip:port`); default the host's resolv.conf name servers. */
        dnsUpstreams: z.array(z.string()).optional(),
        /** The host's resolv.conf: containers' resolv.conf derive from it. */
        resolvConf: z.string().default('/etc/resolv.conf'),
        /** Deadline of one CNI plugin run. */
        cniTimeoutMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .prefault({}),
    /**
     * Bytes kept free on the root's filesystem: content writes and layer extraction that would
     * leave less fail with ResourceExhausted, so the metadata DB can still commit the deletions
     * that give space back (core/node/space.ts).
     */
    reservedFreeBytes: z.number().int().min(0).default(RESERVED_FREE_BYTES),
    /** How berthd reaches registries (containerd's hosts.toml, reduced). Loopback hosts are plain HTTP. */
    registry: z
      .object({
        /** `host[:port]` names served over plain HTTP (Docker's insecure-registries). */
        insecure: z.array(z.string().min(1)).default([]),
        /** Per `host[:port]`: a PEM CA bundle file to trust, skip verification, or plain HTTP. */
        hosts: z
          .record(
            z.string().min(1),
            z.object({ ca: z.string().min(1).optional(), skipVerify: z.boolean().optional(), plainHttp: z.boolean().optional() }).strict(),
          )
          .default({}),
        /** Directory of the docker config.json to read credentials from (default $DOCKER_CONFIG, else ~/.docker). */
        dockerConfig: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    transfer: z
      .object({
        /** Concurrent blob downloads per pull (containerd's max_concurrent_downloads). */
        maxConcurrentDownloads: z.number().int().min(1).max(64).default(3),
        /** Concurrent blob uploads per push. */
        maxConcurrentUploads: z.number().int().min(1).max(64).default(3),
        /** How long a failed pull's lease keeps what it committed, for a retry to resume. */
        leaseExpiryHours: z.number().positive().default(24),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

export interface Flags {
  root?: string;
  state?: string;
  address?: string;
  config?: string;
  /** Checked by ConfigSchema, like the file's fields. */
  logLevel?: string;
  usernsRemap?: string;
}

export function loadConfig(flags: Flags): Config {
  let file: unknown = {};
  if (flags.config) {
    try {
      file = JSON.parse(readFileSync(flags.config, 'utf8'));
    } catch (e) {
      throw new Error(`config ${flags.config}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (!isRecord(file)) throw new Error(`config ${flags.config}: must be a JSON object`);
  }
  const merged: Record<string, unknown> = isRecord(file) ? { ...file } : {};
  for (const k of ['root', 'state', 'address', 'logLevel', 'usernsRemap'] as const) if (flags[k] !== undefined) merged[k] = flags[k];
  // Parsed once, before the socket is bound: zod's JIT (it compiles an object's parser with new
  // Function on first use) cost 2-4 ms more than the interpreted parse here.
  const r = ConfigSchema.safeParse(merged, { jitless: true });
  if (!r.success) throw new Error(`config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
