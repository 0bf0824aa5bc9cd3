/**
 * The launch plan: everything berth-helper needs to create (or exec into) a container.
 * Validated here with zod, then encoded in the binary record format of
 * native/helper/PROTOCOL.md (length-prefixed key/value records; C parses it without a library).
 */
import { z } from 'zod';
import { MAX_STATE_DIR_LENGTH } from './paths';

const absPath = z
  .string()
  .min(1)
  .max(4095)
  .regex(/^\//, 'must be an absolute path')
  .refine((s) => !s.includes('\0'), 'NUL');
const str = z
  .string()
  .max(65535)
  .refine((s) => !s.includes('\0'), 'must not contain NUL');
const u32 = z.number().int().min(0).max(0xffffffff);
/** rlimits are u64; JSON numbers above 2^53 arrive imprecise, so accept bigint too. */
const u64 = z.union([z.number().int().min(0), z.bigint().min(0n).max(0xffffffffffffffffn)]);
const capList = z.array(z.number().int().min(0).max(63));

export const NAMESPACE_TYPES = ['pid', 'mount', 'uts', 'ipc', 'network', 'cgroup', 'user'] as const;
export const PROPAGATIONS = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'] as const;

export const PlanMountSchema = z.strictObject({
  destination: absPath,
  type: str.min(1),
  source: str.default('none'),
  options: z.array(str).default([]),
});
export const RootfsMountSchema = z.strictObject({
  type: str.min(1),
  source: str,
  options: z.array(str).default([]),
});
export const StdioSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('null') }),
  z.strictObject({ kind: z.literal('fifo'), path: absPath }),
  z.strictObject({ kind: z.literal('file'), path: absPath }),
]);
export type Stdio = z.infer<typeof StdioSchema>;
const NULL_STDIO: Stdio = { kind: 'null' };

/**
 * Capture mode (native/helper/PROTOCOL.md): the monitor holds the process's stdio itself, writes
 * stdout/stderr to a json-file log (when `log` is given) and serves attachers on its control
 * socket; the plan's stdio must then be null.
 */
export const CaptureSchema = z.strictObject({
  /** The process gets a stdin pipe (or the pty) that attachers feed (Docker's OpenStdin). */
  stdinOpen: z.boolean().default(false),
  log: z
    .strictObject({
      path: absPath,
      /** Bytes; 0 = never rotate (Docker's json-file default). */
      maxSize: z.number().int().min(0).default(0),
      /** Files kept, the current one included (Docker's max-file). */
      maxFiles: z.number().int().min(1).max(1000).default(1),
    })
    .optional(),
});
export type Capture = z.infer<typeof CaptureSchema>;

export const LaunchPlanSchema = z.strictObject({
  mode: z.enum(['create', 'exec']).default('create'),
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,75}$/, 'ids are alphanumerics plus ._- (at most 76)'),
  stateDir: absPath.max(MAX_STATE_DIR_LENGTH, 'the control socket path must fit in sun_path'),
  rootfs: absPath.optional(),
  rootfsReadonly: z.boolean().default(false),
  /** With a new user namespace: show the rootfs through its id mapping (idmapped mounts; berthd's userns-remap). */
  rootfsIdmap: z.boolean().default(false),
  rootfsPropagation: z.enum(PROPAGATIONS).optional(),
  rootfsMounts: z.array(RootfsMountSchema).default([]),
  namespaces: z.array(z.strictObject({ type: z.enum(NAMESPACE_TYPES), path: absPath.optional() })).default([]),
  uidMappings: z.array(z.strictObject({ containerID: u32, hostID: u32, size: u32.min(1) })).default([]),
  gidMappings: z.array(z.strictObject({ containerID: u32, hostID: u32, size: u32.min(1) })).default([]),
  mounts: z.array(PlanMountSchema).default([]),
  maskedPaths: z.array(absPath).default([]),
  readonlyPaths: z.array(absPath).default([]),
  devices: z
    .array(
      z.strictObject({
        path: absPath,
        type: z.enum(['c', 'b', 'u', 'p']),
        major: u32,
        minor: u32,
        fileMode: u32.max(0o7777).default(0o666),
        uid: u32.default(0),
        gid: u32.default(0),
      }),
    )
    .default([]),
  hostname: str.max(64).optional(),
  domainname: str.max(64).optional(),
  sysctls: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/)
        .refine((k) => !k.includes('..')),
      str,
    )
    .default({}),
  rlimits: z.array(z.strictObject({ type: z.number().int().min(0).max(15), soft: u64, hard: u64 })).default([]),
  oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
  user: z
    .strictObject({ uid: u32.default(0), gid: u32.default(0), additionalGids: z.array(u32).default([]), umask: u32.max(0o777).optional() })
    .default({ uid: 0, gid: 0, additionalGids: [] }),
  cwd: absPath.default('/'),
  args: z.array(str).min(1),
  env: z.array(str).default([]),
  capabilities: z.strictObject({ bounding: capList, effective: capList, permitted: capList, inheritable: capList, ambient: capList }).optional(),
  noNewPrivileges: z.boolean().default(false),
  terminal: z.boolean().default(false),
  consoleSize: z.strictObject({ width: u32.max(65535), height: u32.max(65535) }).optional(),
  stdio: z
    .strictObject({ stdin: StdioSchema.default(NULL_STDIO), stdout: StdioSchema.default(NULL_STDIO), stderr: StdioSchema.default(NULL_STDIO) })
    .default({ stdin: NULL_STDIO, stdout: NULL_STDIO, stderr: NULL_STDIO }),
  /** Relative to the helper's own cgroup (the daemon's), e.g. `berth/default/ctr1`. */
  cgroupPath: z
    .string()
    .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'relative path of plain components')
    .refine((p) => !p.split('/').includes('..') && !p.split('/').includes('.'), 'no . or .. components')
    .optional(),
  /** Exec mode: join the cgroup instead of creating it. */
  cgroupJoin: z.boolean().default(false),
  /**
   * Leading components of cgroupPath the helper leaves in place when it removes the cgroup
   * (berthd's `berth/<ns>`, which berthd removes itself: TaskManager); 0 = remove every empty parent.
   */
  cgroupKeep: z.number().int().min(0).max(64).default(0),
  /** A compiled seccomp filter (SeccompCompiler): the child loads it just before exec. */
  seccomp: z
    .strictObject({
      program: z.instanceof(Buffer).refine((b) => b.length >= 8 && b.length % 8 === 0 && b.length <= 8 * 4096, 'a BPF program of 1 to 4096 instructions'),
      // SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW
      flags: z
        .number()
        .int()
        .refine((f) => (f & ~6) === 0, 'only the LOG and SPEC_ALLOW flags'),
    })
    .optional(),
  capture: CaptureSchema.optional(),
  resources: z
    .strictObject({
      memory: z
        .strictObject({
          limit: z.number().int().positive().optional(),
          reservation: z.number().int().positive().optional(),
          swap: z.number().int().positive().optional(),
        })
        .optional(),
      cpu: z
        .strictObject({
          shares: z.number().int().min(2).max(262144).optional(),
          quota: z.number().int().min(-1).optional(),
          period: z.number().int().min(1000).max(1000000).optional(),
          cpus: z
            .string()
            .regex(/^[0-9,-]*$/)
            .optional(),
          mems: z
            .string()
            .regex(/^[0-9,-]*$/)
            .optional(),
        })
        .optional(),
      pids: z.strictObject({ limit: z.number().int().positive() }).optional(),
      /** OCI blockIO: weights 10-1000 (blkio's range; v2 converts), throttles per device. */
      io: z
        .strictObject({
          weight: z.number().int().min(10).max(1000).optional(),
          devices: z
            .array(
              z.strictObject({
                major: u32,
                minor: u32,
                weight: z.number().int().min(10).max(1000).optional(),
                rbps: z.number().int().min(0).optional(),
                wbps: z.number().int().min(0).optional(),
                riops: z.number().int().min(0).optional(),
                wiops: z.number().int().min(0).optional(),
              }),
            )
            .default([]),
        })
        .optional(),
      devices: z
        .array(
          z.strictObject({
            allow: z.boolean(),
            type: z.enum(['a', 'b', 'c']).default('a'),
            major: z.number().int().min(-1).default(-1),
            minor: z.number().int().min(-1).default(-1),
            access: z
              .string()
              .regex(/^[rwm]{1,3}$/)
              .default('rwm'),
          }),
        )
        .default([]),
    })
    .default({ devices: [] }),
});

export type LaunchPlanInput = z.input<typeof LaunchPlanSchema>;
export type LaunchPlan = z.infer<typeof LaunchPlanSchema>;

/** Plans that came out of LaunchPlanSchema (validatePlan, withLaunchParts): createProcess sends them as they are. */
const validatedPlans = new WeakSet<LaunchPlan>();

export const isValidatedPlan = (p: unknown): p is LaunchPlan => typeof p === 'object' && p !== null && validatedPlans.has(p as LaunchPlan);

/** LaunchPlanSchema.parse, remembered (see isValidatedPlan). Throws ZodError. */
export function validatePlan(input: LaunchPlanInput): LaunchPlan {
  const plan = LaunchPlanSchema.parse(input);
  validatedPlans.add(plan);
  return plan;
}

/**
 * A validated plan with its per-launch parts replaced, each validated by the very sub-schema
 * LaunchPlanSchema applies to it (no rule spans fields): TaskManager validates a container's plan
 * ahead of Tasks/Create, whose rootfs mounts and stdio only arrive with that call. Throws ZodError.
 */
export function withLaunchParts(plan: LaunchPlan, parts: { rootfsMounts: unknown; stdio: unknown; capture?: unknown }): LaunchPlan {
  if (!validatedPlans.has(plan)) throw new TypeError('withLaunchParts: the plan was not validated');
  const shape = LaunchPlanSchema.shape;
  const out = {
    ...plan,
    rootfsMounts: shape.rootfsMounts.parse(parts.rootfsMounts),
    stdio: shape.stdio.parse(parts.stdio),
    capture: shape.capture.parse(parts.capture),
  };
  validatedPlans.add(out);
  return out;
}

export const PLAN_MAGIC = 'BRTHPLN1';

/**
 * Builds the record stream into one growing buffer; a nested value is written in place and its
 * length patched afterwards. (A Buffer per key, value and header plus a concat per nesting level
 * cost ~1 ms per plan while the code is cold, i.e. on every Tasks/Create of a fresh daemon.)
 */
class RecordWriter {
  private buf = Buffer.allocUnsafe(8192);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Key and a 4-byte length placeholder; returns where the value starts. */
  private head(key: string): number {
    this.room(2 + key.length + 4);
    this.buf.writeUInt16LE(key.length, this.pos);
    this.pos += 2;
    this.pos += this.buf.write(key, this.pos, 'latin1');
    this.pos += 4;
    return this.pos;
  }

  private close(start: number): void {
    this.buf.writeUInt32LE(this.pos - start, start - 4);
  }

  put(key: string, value: string | number | bigint | boolean): this {
    const v = typeof value === 'string' ? value : typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    const start = this.head(key);
    this.room(Buffer.byteLength(v, 'utf8'));
    this.pos += this.buf.write(v, this.pos, 'utf8');
    this.close(start);
    return this;
  }
  bytes(key: string, value: Buffer): this {
    const start = this.head(key);
    this.room(value.length);
    this.pos += value.copy(this.buf, this.pos);
    this.close(start);
    return this;
  }
  opt(key: string, value: string | number | bigint | boolean | undefined): this {
    return value === undefined ? this : this.put(key, value);
  }
  nested(key: string, fill: (w: RecordWriter) => void): this {
    const start = this.head(key);
    fill(this);
    this.close(start);
    return this;
  }
  magic(m: string): this {
    this.room(m.length);
    this.pos += this.buf.write(m, this.pos, 'latin1');
    return this;
  }
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

const mask = (caps: number[]): bigint => caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);

/** Validates (throws ZodError) and encodes a plan for fd 3. */
export function encodePlan(input: LaunchPlanInput): Buffer {
  return encodeParsedPlan(LaunchPlanSchema.parse(input));
}

/** Encodes a plan LaunchPlanSchema already parsed (createProcess parses once, not twice). */
export function encodeParsedPlan(p: LaunchPlan): Buffer {
  const w = new RecordWriter().magic(PLAN_MAGIC);
  w.put('mode', p.mode).put('id', p.id).put('state_dir', p.stateDir);
  w.opt('rootfs', p.rootfs).put('rootfs_readonly', p.rootfsReadonly).opt('rootfs_propagation', p.rootfsPropagation);
  if (p.rootfsIdmap) w.put('rootfs_idmap', true);
  for (const m of p.rootfsMounts)
    w.nested('rootfs_mount', (n) => {
      n.put('type', m.type).put('source', m.source);
      for (const o of m.options) n.put('option', o);
    });
  for (const ns of p.namespaces) w.nested('ns', (n) => n.put('type', ns.type).opt('path', ns.path));
  for (const [key, maps] of [
    ['uid_map', p.uidMappings],
    ['gid_map', p.gidMappings],
  ] as const)
    for (const m of maps) w.nested(key, (n) => n.put('container', m.containerID).put('host', m.hostID).put('size', m.size));
  for (const m of p.mounts)
    w.nested('mount', (n) => {
      n.put('destination', m.destination).put('type', m.type).put('source', m.source);
      for (const o of m.options) n.put('option', o);
    });
  for (const m of p.maskedPaths) w.put('masked', m);
  for (const r of p.readonlyPaths) w.put('readonly', r);
  for (const d of p.devices)
    w.nested('device', (n) =>
      n.put('path', d.path).put('type', d.type).put('major', d.major).put('minor', d.minor).put('mode', d.fileMode).put('uid', d.uid).put('gid', d.gid),
    );
  w.opt('hostname', p.hostname).opt('domainname', p.domainname);
  for (const [key, value] of Object.entries(p.sysctls)) w.nested('sysctl', (n) => n.put('key', key).put('value', value));
  for (const r of p.rlimits) w.nested('rlimit', (n) => n.put('type', r.type).put('soft', r.soft).put('hard', r.hard));
  w.opt('oom_score_adj', p.oomScoreAdj);
  w.put('uid', p.user.uid).put('gid', p.user.gid).opt('umask', p.user.umask);
  for (const g of p.user.additionalGids) w.put('gid_extra', g);
  w.put('cwd', p.cwd);
  for (const a of p.args) w.put('arg', a);
  for (const e of p.env) w.put('env', e);
  if (p.capabilities) {
    const c = p.capabilities;
    w.put('cap_bounding', mask(c.bounding)).put('cap_effective', mask(c.effective)).put('cap_permitted', mask(c.permitted));
    w.put('cap_inheritable', mask(c.inheritable)).put('cap_ambient', mask(c.ambient));
  }
  w.put('no_new_privileges', p.noNewPrivileges).put('terminal', p.terminal);
  if (p.consoleSize) w.put('tty_width', p.consoleSize.width).put('tty_height', p.consoleSize.height);
  for (const key of ['stdin', 'stdout', 'stderr'] as const) {
    const s = p.stdio[key];
    w.nested(key, (n) => n.put('kind', s.kind).opt('path', s.kind === 'null' ? undefined : s.path));
  }
  w.opt('cgroup_path', p.cgroupPath).put('cgroup_join', p.cgroupJoin);
  if (p.cgroupKeep > 0) w.put('cgroup_keep', p.cgroupKeep);
  if (p.capture) {
    w.put('capture', true).put('stdin_open', p.capture.stdinOpen);
    const log = p.capture.log;
    if (log) w.put('log_path', log.path).put('log_max_size', log.maxSize).put('log_max_files', log.maxFiles);
  }
  const r = p.resources;
  w.opt('mem_limit', r.memory?.limit).opt('mem_reservation', r.memory?.reservation).opt('mem_swap', r.memory?.swap);
  w.opt('cpu_shares', r.cpu?.shares).opt('cpu_quota', r.cpu?.quota).opt('cpu_period', r.cpu?.period);
  w.opt('cpuset_cpus', r.cpu?.cpus).opt('cpuset_mems', r.cpu?.mems).opt('pids_limit', r.pids?.limit);
  w.opt('io_weight', r.io?.weight);
  for (const d of r.io?.devices ?? [])
    w.nested('io_device', (n) =>
      n.put('major', d.major).put('minor', d.minor).opt('weight', d.weight).opt('rbps', d.rbps).opt('wbps', d.wbps).opt('riops', d.riops).opt('wiops', d.wiops),
    );
  for (const d of r.devices)
    w.nested('dev_rule', (n) => n.put('allow', d.allow).put('type', d.type).put('major', d.major).put('minor', d.minor).put('access', d.access));
  if (p.seccomp) {
    const sc = p.seccomp;
    w.nested('seccomp', (n) => n.bytes('filter', sc.program).put('flags', sc.flags));
  }
  // The helper starts at `end` instead of at EOF, which Node sends a turn of its event loop later.
  w.put('end', '');
  return w.toBuffer();
}
