/**
 * OCI spec -> launch plan. Unknown keys fail validation (InvalidArgument); OCI fields berth does
 * not implement are collected in `unsupported` and, unless the caller opts in, rejected with
 * NotImplemented. Nothing is dropped silently.
 */
import { isAbsolute, resolve } from 'node:path';
import { BugError, invalidArgument, notImplemented } from '../../core/errors';
import type { Mount } from '../../core/types';
import type { LaunchPlanInput, Stdio } from '../helper/plan';
import { NAMESPACE_TYPES } from '../helper/plan';
import type { SeccompFilter } from '../helper/seccomp-compiler';
import { capabilityNumber, RLIMITS } from './caps';
import { OciSpecSchema, type OciProcess, type OciSpec } from './types';
import { wantsRemap, type UsernsRemap } from '../userns-remap';

export interface SpecToPlanOptions {
  id: string;
  stateDir: string;
  /** Absolute rootfs dir; defaults to `spec.root.path` resolved against `bundle`. */
  rootfs?: string;
  bundle?: string;
  /** Snapshotter mounts that make up the rootfs (overlay or bind), mounted onto `rootfs`. */
  rootfsMounts?: Mount[];
  stdio?: { stdin?: Stdio; stdout?: Stdio; stderr?: Stdio };
  /** Parent below the daemon's own cgroup; default `berth`. */
  cgroupParent?: string;
  /**
   * The caller removes empty dirs below cgroupParent itself (berthd: TaskManager), so the helper
   * leaves the parent and the first component below it (`berth/<ns>`) when the cgroup goes.
   */
  keepCgroupParents?: boolean;
  /** Accept (and only report) OCI fields berth does not implement. */
  allowUnsupported?: boolean;
  /**
   * The spec's `linux.seccomp` compiled (SeccompFilters: toSeccompRequest + SeccompCompiler), or null where it asks
   * for no filter. Required when the spec has `linux.seccomp`.
   */
  seccomp?: SeccompFilter | null;
  /** berthd's userns-remap: containers without a mapping of their own get this one (userns-remap.ts). */
  usernsRemap?: UsernsRemap;
}

export interface SpecToPlanResult {
  plan: LaunchPlanInput;
  /** OCI fields present in the spec that berth-helper does not apply. */
  unsupported: string[];
  /** Fields applied only partly (e.g. device rules on cgroup v2). */
  warnings: string[];
}

const U64_MAX = 0xffffffffffffffffn;
const toU64 = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : v < 0 || v >= 2 ** 64 ? U64_MAX : BigInt(Math.trunc(v)));

/** Paths of set values in `obj` that the schema marks as "known but not implemented". */
function collectUnsupported(spec: OciSpec): string[] {
  const out: string[] = [];
  const check = (path: string, v: unknown) => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v) && v.length === 0) return;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) return;
    out.push(path);
  };
  const p = spec.process;
  if (p) for (const k of ['commandLine', 'apparmorProfile', 'selinuxLabel', 'ioPriority', 'scheduler', 'execCPUAffinity'] as const) check(`process.${k}`, p[k]);
  check('hooks', spec.hooks);
  (spec.mounts ?? []).forEach((m, i) => {
    check(`mounts[${i}].uidMappings`, m.uidMappings);
    check(`mounts[${i}].gidMappings`, m.gidMappings);
  });
  const l = spec.linux;
  if (l) {
    for (const k of ['mountLabel', 'intelRdt', 'personality', 'timeOffsets', 'memoryPolicy'] as const) check(`linux.${k}`, l[k]);
    const r = l.resources;
    if (r) {
      for (const k of ['hugepageLimits', 'network', 'rdma', 'unified'] as const) check(`linux.resources.${k}`, r[k]);
      check('linux.resources.blockIO.leafWeight', r.blockIO?.leafWeight);
      (r.blockIO?.weightDevice ?? []).forEach((d, i) => check(`linux.resources.blockIO.weightDevice[${i}].leafWeight`, d.leafWeight));
      if (r.memory)
        for (const k of ['kernel', 'kernelTCP', 'swappiness', 'disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate'] as const)
          check(`linux.resources.memory.${k}`, r.memory[k]);
      if (r.cpu) for (const k of ['realtimeRuntime', 'realtimePeriod', 'idle', 'burst'] as const) check(`linux.resources.cpu.${k}`, r.cpu[k]);
    }
    for (const ns of l.namespaces ?? []) if (!(NAMESPACE_TYPES as readonly string[]).includes(ns.type)) out.push(`linux.namespaces[type=${ns.type}]`);
  }
  return out;
}

function capList(names: string[] | undefined, field: string): number[] {
  return (names ?? []).map((n) => {
    const c = capabilityNumber(n);
    if (c === undefined) throw invalidArgument(`spec process.capabilities.${field}: unknown capability ${n}`);
    return c;
  });
}

/** The process part, shared by create and exec plans. */
export function processToPlan(
  p: OciProcess,
): Pick<LaunchPlanInput, 'args' | 'env' | 'cwd' | 'user' | 'capabilities' | 'rlimits' | 'noNewPrivileges' | 'terminal' | 'consoleSize' | 'oomScoreAdj'> {
  if (p.user.username !== undefined) throw notImplemented('spec process.user.username: resolve it to uid/gid first');
  const caps = p.capabilities;
  return {
    args: p.args,
    env: p.env ?? [],
    cwd: p.cwd,
    user: { uid: p.user.uid, gid: p.user.gid, additionalGids: p.user.additionalGids ?? [], umask: p.user.umask },
    capabilities: caps && {
      bounding: capList(caps.bounding, 'bounding'),
      effective: capList(caps.effective, 'effective'),
      permitted: capList(caps.permitted, 'permitted'),
      inheritable: capList(caps.inheritable, 'inheritable'),
      ambient: capList(caps.ambient, 'ambient'),
    },
    rlimits: (p.rlimits ?? []).map((r) => {
      const type = RLIMITS.indexOf(r.type);
      if (type < 0) throw invalidArgument(`spec process.rlimits: unknown rlimit ${r.type}`);
      return { type, soft: toU64(r.soft), hard: toU64(r.hard) };
    }),
    noNewPrivileges: p.noNewPrivileges ?? false,
    terminal: p.terminal ?? false,
    consoleSize: p.consoleSize,
    oomScoreAdj: p.oomScoreAdj,
  };
}

function cgroupPathFor(spec: OciSpec, id: string, parent: string): string[] {
  const raw = spec.linux?.cgroupsPath;
  if (raw !== undefined && raw.includes(':')) throw notImplemented(`spec linux.cgroupsPath ${raw}: systemd slice:prefix:name paths are not supported`);
  const rel = (raw ?? id).split('/').filter((c) => c !== '');
  if (rel.some((c) => c === '..' || c === '.')) throw invalidArgument(`spec linux.cgroupsPath ${raw}: must not contain . or ..`);
  return [...parent.split('/').filter((c) => c !== ''), ...(rel.length ? rel : [id])];
}

/**
 * runc always creates these in the container's /dev, whatever `linux.devices` says (libcontainer's
 * AllowedDevices); containerd's and ctr's specs rely on it and list none. Spec entries win.
 */
const RUNC_DEFAULT_DEVICES = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
] as const;

type SpecDevice = NonNullable<NonNullable<OciSpec['linux']>['devices']>[number];
function withRuncDefaultDevices(devices: SpecDevice[]): SpecDevice[] {
  const have = new Set(devices.map((d) => d.path));
  return [...devices, ...RUNC_DEFAULT_DEVICES.filter((d) => !have.has(d.path)).map((d): SpecDevice => ({ ...d, type: 'c', fileMode: 0o666, uid: 0, gid: 0 }))];
}

type BlockIO = NonNullable<NonNullable<NonNullable<OciSpec['linux']>['resources']>['blockIO']>;
type PlanIo = NonNullable<NonNullable<LaunchPlanInput['resources']>['io']>;
type PlanIoDevice = NonNullable<PlanIo['devices']>[number];

/** OCI blockIO → one entry per device with its weight and throttles (io.max takes them on one line). */
function blockIOToPlan(b: BlockIO): PlanIo {
  const devices = new Map<string, PlanIoDevice>();
  const dev = (major: number, minor: number) => {
    const key = `${major}:${minor}`;
    if (!devices.has(key)) devices.set(key, { major, minor });
    return devices.get(key)!;
  };
  for (const d of b.weightDevice ?? []) if (d.weight !== undefined) dev(d.major, d.minor).weight = d.weight;
  const throttles = [
    ['rbps', b.throttleReadBpsDevice],
    ['wbps', b.throttleWriteBpsDevice],
    ['riops', b.throttleReadIOPSDevice],
    ['wiops', b.throttleWriteIOPSDevice],
  ] as const;
  for (const [kind, list] of throttles) for (const d of list ?? []) dev(d.major, d.minor)[kind] = d.rate;
  return { weight: b.weight || undefined, devices: [...devices.values()] };
}

/** Validates an OCI spec (specToPlan's first step; TaskManager also runs it ahead of Tasks/Create). */
export function parseSpec(input: unknown, id: string): OciSpec {
  const parsed = OciSpecSchema.safeParse(input);
  if (!parsed.success) throw invalidArgument(`spec for ${id}: ${parsed.error.message}`, { cause: parsed.error });
  return parsed.data;
}

export function specToPlan(input: unknown, opts: SpecToPlanOptions): SpecToPlanResult {
  return planFromSpec(parseSpec(input, opts.id), opts);
}

/** specToPlan for a spec parseSpec already validated. */
export function planFromSpec(spec: OciSpec, opts: SpecToPlanOptions): SpecToPlanResult {
  const unsupported = collectUnsupported(spec);
  if (unsupported.length && !opts.allowUnsupported) throw notImplemented(`spec for ${opts.id}: not supported: ${unsupported.join(', ')}`);
  if (!spec.process) throw invalidArgument(`spec for ${opts.id}: process is required`);
  const warnings: string[] = [];
  const l = spec.linux ?? {};
  const r = l.resources ?? {};
  const rootfs = opts.rootfs ?? (spec.root ? (isAbsolute(spec.root.path) ? spec.root.path : resolve(opts.bundle ?? '/', spec.root.path)) : undefined);
  if (!rootfs || !isAbsolute(rootfs)) throw invalidArgument(`spec for ${opts.id}: no absolute rootfs (give root.path with a bundle, or rootfs)`);
  const parent = opts.cgroupParent ?? 'berth';
  const parentDepth = parent.split('/').filter((c) => c !== '').length;
  const cgroupPath = cgroupPathFor(spec, opts.id, parent);
  const remap = opts.usernsRemap && wantsRemap(spec) ? opts.usernsRemap : undefined;
  const limit = (v: number | undefined) => (v === undefined || v <= 0 ? undefined : v);
  if (l.seccomp !== undefined && opts.seccomp === undefined) throw new BugError(`spec for ${opts.id}: linux.seccomp must be compiled first (SeccompFilters)`);

  const plan: LaunchPlanInput = {
    mode: 'create',
    id: opts.id,
    stateDir: opts.stateDir,
    rootfs,
    rootfsReadonly: spec.root?.readonly ?? false,
    rootfsPropagation: l.rootfsPropagation as LaunchPlanInput['rootfsPropagation'],
    rootfsMounts: (opts.rootfsMounts ?? []).map((m) => ({ type: m.type, source: m.source, options: m.options })),
    namespaces: [
      ...(l.namespaces ?? []).map((n) => ({ type: n.type as (typeof NAMESPACE_TYPES)[number], path: n.path || undefined })),
      ...(remap ? [{ type: 'user' as const }] : []),
    ],
    uidMappings: remap?.uidMappings ?? l.uidMappings ?? [],
    gidMappings: remap?.gidMappings ?? l.gidMappings ?? [],
    rootfsIdmap: remap !== undefined,
    mounts: (spec.mounts ?? []).map((m) => ({
      destination: m.destination,
      type: m.type ?? (m.options?.some((o) => o === 'bind' || o === 'rbind') ? 'bind' : 'none'),
      source: m.source ?? 'none',
      options: m.options ?? [],
    })),
    maskedPaths: l.maskedPaths ?? [],
    readonlyPaths: l.readonlyPaths ?? [],
    devices: withRuncDefaultDevices(l.devices ?? []).map((d) => ({
      path: d.path,
      type: d.type,
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      fileMode: d.fileMode ?? 0o666,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
    })),
    hostname: spec.hostname,
    domainname: spec.domainname,
    sysctls: l.sysctl ?? {},
    ...processToPlan(spec.process),
    stdio: opts.stdio,
    cgroupPath: cgroupPath.join('/'),
    // Never the leaf itself: at most the parent and one component below it.
    cgroupKeep: opts.keepCgroupParents ? Math.min(parentDepth + 1, cgroupPath.length - 1) : 0,
    seccomp: seccompPart(opts.seccomp),
    resources: {
      memory: r.memory && { limit: limit(r.memory.limit), reservation: limit(r.memory.reservation), swap: limit(r.memory.swap) },
      cpu: r.cpu && {
        shares: limit(r.cpu.shares),
        quota: r.cpu.quota,
        period: limit(r.cpu.period),
        cpus: r.cpu.cpus || undefined,
        mems: r.cpu.mems || undefined,
      },
      pids: r.pids && r.pids.limit > 0 ? { limit: r.pids.limit } : undefined,
      io: r.blockIO && blockIOToPlan(r.blockIO),
      devices: (r.devices ?? []).map((d) => ({ allow: d.allow, type: d.type ?? 'a', major: d.major ?? -1, minor: d.minor ?? -1, access: d.access ?? 'rwm' })),
    },
  };
  return { plan, unsupported, warnings };
}

const seccompPart = (f: SeccompFilter | null | undefined) => (f ? { program: f.program, flags: f.flags } : undefined);

export interface ExecPlanOptions {
  id: string;
  stateDir: string;
  /** Host pid of the container's init: its namespaces are joined through /proc/<pid>/ns. */
  initPid: number;
  /** The container's cgroup path as given in its create plan. */
  cgroupPath?: string;
  /** The container's namespaces (its spec's linux.namespaces); default: all but user. */
  namespaces?: { type: string; path?: string }[];
  stdio?: SpecToPlanOptions['stdio'];
  /** The container's compiled `linux.seccomp`: runc puts exec processes under it too. */
  seccomp?: SeccompFilter | null;
}

const NS_PROC_NAME: Record<string, string> = { pid: 'pid', mount: 'mnt', uts: 'uts', ipc: 'ipc', network: 'net', cgroup: 'cgroup', user: 'user' };

/** Exec mode: the process joins a running container's namespaces and cgroup. */
export function execPlan(process: unknown, opts: ExecPlanOptions): LaunchPlanInput {
  const parsed = OciSpecSchema.shape.process.safeParse(process);
  if (!parsed.success || !parsed.data) throw invalidArgument(`exec ${opts.id}: bad process spec`, { cause: parsed.error });
  const types = (opts.namespaces ?? ['pid', 'mount', 'uts', 'ipc', 'network', 'cgroup'].map((type) => ({ type }))).map((n) => n.type);
  return {
    mode: 'exec',
    id: opts.id,
    stateDir: opts.stateDir,
    namespaces: types.map((t) => {
      if (!NS_PROC_NAME[t]) throw notImplemented(`exec ${opts.id}: namespace ${t}`);
      return { type: t as (typeof NAMESPACE_TYPES)[number], path: `/proc/${opts.initPid}/ns/${NS_PROC_NAME[t]}` };
    }),
    ...processToPlan(parsed.data),
    stdio: opts.stdio,
    cgroupPath: opts.cgroupPath,
    cgroupJoin: opts.cgroupPath !== undefined,
    seccomp: seccompPart(opts.seccomp),
  };
}
