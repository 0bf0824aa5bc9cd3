/**
 * The OCI runtime spec (config.json) as berth accepts it: every field a containerd or Docker
 * default spec uses is modelled strictly; any other key is rejected by zod. Fields that are
 * part of the OCI spec but not implemented by berth-helper are accepted here and then
 * reported by the converter (see UNSUPPORTED_FIELDS), never silently ignored.
 */
import { z } from 'zod';
import { OciSeccompSchema } from './seccomp/schema';

const u32 = z.number().int().min(0).max(0xffffffff);
const later = z.unknown().optional(); // known OCI field, reported by the converter when set

const IdMappingSchema = z.strictObject({ containerID: u32, hostID: u32, size: u32 });

export const OciProcessSchema = z.strictObject({
  terminal: z.boolean().optional(),
  consoleSize: z.strictObject({ height: u32, width: u32 }).optional(),
  user: z.strictObject({
    uid: u32,
    gid: u32,
    umask: u32.optional(),
    additionalGids: z.array(u32).optional(),
    username: z.string().optional(),
  }),
  args: z.array(z.string()).min(1),
  commandLine: later,
  env: z.array(z.string()).optional(),
  cwd: z.string().regex(/^\//),
  capabilities: z
    .strictObject({
      bounding: z.array(z.string()).optional(),
      effective: z.array(z.string()).optional(),
      inheritable: z.array(z.string()).optional(),
      permitted: z.array(z.string()).optional(),
      ambient: z.array(z.string()).optional(),
    })
    .optional(),
  rlimits: z.array(z.strictObject({ type: z.string(), hard: z.union([z.number(), z.bigint()]), soft: z.union([z.number(), z.bigint()]) })).optional(),
  noNewPrivileges: z.boolean().optional(),
  oomScoreAdj: z.number().int().optional(),
  apparmorProfile: later,
  selinuxLabel: later,
  ioPriority: later,
  scheduler: later,
  execCPUAffinity: later,
});
export type OciProcess = z.infer<typeof OciProcessSchema>;

export const OciMountSchema = z.strictObject({
  destination: z.string().regex(/^\//, 'mount destinations must be absolute'),
  type: z.string().optional(),
  source: z.string().optional(),
  options: z.array(z.string()).optional(),
  uidMappings: later,
  gidMappings: later,
});
export type OciMount = z.infer<typeof OciMountSchema>;

const DeviceRuleSchema = z.strictObject({
  allow: z.boolean(),
  type: z.enum(['a', 'b', 'c']).optional(),
  major: z.number().int().nullable().optional(),
  minor: z.number().int().nullable().optional(),
  access: z.string().optional(),
});

const ThrottleDeviceSchema = z.strictObject({ major: z.number().int(), minor: z.number().int(), rate: z.number().int().min(0) });

export const OciResourcesSchema = z.strictObject({
  devices: z.array(DeviceRuleSchema).optional(),
  memory: z
    .strictObject({
      limit: z.number().int().optional(),
      reservation: z.number().int().optional(),
      swap: z.number().int().optional(),
      kernel: later,
      kernelTCP: later,
      swappiness: later,
      disableOOMKiller: later,
      useHierarchy: later,
      checkBeforeUpdate: later,
    })
    .optional(),
  cpu: z
    .strictObject({
      shares: z.number().int().optional(),
      quota: z.number().int().optional(),
      period: z.number().int().optional(),
      cpus: z.string().optional(),
      mems: z.string().optional(),
      realtimeRuntime: later,
      realtimePeriod: later,
      idle: later,
      burst: later,
    })
    .optional(),
  pids: z.strictObject({ limit: z.number().int() }).optional(),
  blockIO: z
    .strictObject({
      weight: z.number().int().optional(),
      leafWeight: later,
      weightDevice: z
        .array(z.strictObject({ major: z.number().int(), minor: z.number().int(), weight: z.number().int().optional(), leafWeight: later }))
        .optional(),
      throttleReadBpsDevice: z.array(ThrottleDeviceSchema).optional(),
      throttleWriteBpsDevice: z.array(ThrottleDeviceSchema).optional(),
      throttleReadIOPSDevice: z.array(ThrottleDeviceSchema).optional(),
      throttleWriteIOPSDevice: z.array(ThrottleDeviceSchema).optional(),
    })
    .optional(),
  hugepageLimits: later,
  network: later,
  rdma: later,
  unified: later,
});
export type OciResources = z.infer<typeof OciResourcesSchema>;

export const OciLinuxSchema = z.strictObject({
  uidMappings: z.array(IdMappingSchema).optional(),
  gidMappings: z.array(IdMappingSchema).optional(),
  sysctl: z.record(z.string(), z.string()).optional(),
  resources: OciResourcesSchema.optional(),
  cgroupsPath: z.string().optional(),
  namespaces: z.array(z.strictObject({ type: z.string(), path: z.string().optional() })).optional(),
  devices: z
    .array(
      z.strictObject({
        type: z.enum(['c', 'b', 'u', 'p']),
        path: z.string().regex(/^\//),
        major: z.number().int().optional(),
        minor: z.number().int().optional(),
        fileMode: z.number().int().optional(),
        uid: u32.optional(),
        gid: u32.optional(),
      }),
    )
    .optional(),
  rootfsPropagation: z.string().optional(),
  maskedPaths: z.array(z.string()).optional(),
  readonlyPaths: z.array(z.string()).optional(),
  seccomp: OciSeccompSchema.optional(),
  mountLabel: later,
  intelRdt: later,
  personality: later,
  timeOffsets: later,
  memoryPolicy: later,
});

export const OciSpecSchema = z.strictObject({
  ociVersion: z.string(),
  process: OciProcessSchema.optional(),
  root: z.strictObject({ path: z.string(), readonly: z.boolean().optional() }).optional(),
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  mounts: z.array(OciMountSchema).optional(),
  annotations: z.record(z.string(), z.string()).optional(), // metadata only, no runtime effect
  linux: OciLinuxSchema.optional(),
  hooks: later,
});
export type OciSpec = z.infer<typeof OciSpecSchema>;
