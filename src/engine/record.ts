/**
 * The engine's stored record of a container (metadata/engine-containers.ts), validated when read
 * back. `phase` is the engine's own bookkeeping: `creating` until create finished (a record left
 * so by a crash is cleaned up at start-up), `removing` once removal began.
 */
import { z } from 'zod';
import type { EngineContainer } from './types';

const date = z.string().transform((s) => new Date(s));

/** A mount point (mounts/types.ts MountSpec). Records made before mounts existed have none. */
const MountSpecSchema = z.object({
  type: z.enum(['volume', 'bind', 'tmpfs']),
  source: z.string(),
  target: z.string(),
  readOnly: z.boolean(),
  propagation: z.enum(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']).optional(),
  nonRecursive: z.boolean().optional(),
  copyData: z.boolean(),
  volumeDriver: z.string().optional(),
  volumeLabels: z.record(z.string(), z.string()).optional(),
  volumeOptions: z.record(z.string(), z.string()).optional(),
  subpath: z.string().optional(),
  tmpfsSize: z.string().optional(),
  tmpfsMode: z.number().int().optional(),
  tmpfsOptions: z.array(z.string()).optional(),
  origin: z.enum(['bind-flag', 'mount-flag', 'tmpfs-flag', 'volumes-from', 'image']),
  mode: z.string().optional(),
});
const strings = z.array(z.string()).default([]);
const optDate = date.optional();

export const EngineRecordSchema = z.object({
  version: z.literal(1),
  phase: z.enum(['creating', 'ready', 'removing']),
  namespace: z.string(),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().min(1),
  created: date,
  imageId: z.string(),
  config: z.object({
    hostname: z.string(),
    domainname: z.string(),
    user: z.string(),
    env: z.array(z.string()),
    cmd: z.array(z.string()),
    entrypoint: z.array(z.string()),
    workingDir: z.string(),
    labels: z.record(z.string(), z.string()),
    tty: z.boolean(),
    openStdin: z.boolean(),
    stdinOnce: z.boolean(),
    exposedPorts: z.array(z.string()),
    volumes: z.array(z.string()),
    stopSignal: z.string(),
    stopTimeout: z.number().int().optional(),
    image: z.string(),
  }),
  hostConfig: z.object({
    init: z.boolean(),
    privileged: z.boolean(),
    readonlyRootfs: z.boolean(),
    capAdd: z.array(z.string()),
    capDrop: z.array(z.string()),
    memory: z.number(),
    nanoCpus: z.number(),
    pidsLimit: z.number(),
    networkMode: z.enum(['none', 'host']),
    shmSize: z.number(),
    logConfig: z.object({ maxSize: z.number(), maxFile: z.number() }),
    autoRemove: z.boolean(),
    securityOpt: z.array(z.string()),
    restartPolicy: z
      .object({ name: z.enum(['no', 'always', 'unless-stopped', 'on-failure']), maximumRetryCount: z.number().int() })
      .default({ name: 'no', maximumRetryCount: 0 }),
    binds: strings,
    mounts: strings,
    tmpfs: strings,
    volumesFrom: strings,
  }),
  state: z.object({
    status: z.enum(['created', 'running', 'paused', 'restarting', 'exited', 'dead', 'removing']),
    pid: z.number().int(),
    exitCode: z.number().int(),
    error: z.string(),
    oomKilled: z.boolean(),
    startedAt: optDate,
    finishedAt: optDate,
    restartCount: z.number().int(),
    manuallyStopped: z.boolean().default(false),
  }),
  path: z.string(),
  args: z.array(z.string()),
  logPath: z.string(),
  hostnamePath: z.string(),
  hostsPath: z.string(),
  resolvConfPath: z.string(),
  snapshotter: z.string(),
  snapshotKey: z.string(),
  mounts: z.array(MountSpecSchema).default([]),
});

export type Phase = 'creating' | 'ready' | 'removing';

/** The record as the engine uses it: the container plus its bookkeeping. */
export interface EngineRecord extends EngineContainer {
  version: 1;
  phase: Phase;
  namespace: string;
}

/** What is stored (dates as ISO strings). */
export type StoredRecord = Omit<EngineRecord, 'created' | 'state'> & {
  created: string;
  state: Omit<EngineRecord['state'], 'startedAt' | 'finishedAt'> & { startedAt?: string; finishedAt?: string };
};

export function toStored(r: EngineRecord): StoredRecord {
  return {
    ...r,
    created: r.created.toISOString(),
    state: { ...r.state, startedAt: r.state.startedAt?.toISOString(), finishedAt: r.state.finishedAt?.toISOString() },
  };
}

export function fromStored(s: unknown): EngineRecord {
  return EngineRecordSchema.parse(s) as EngineRecord;
}

/** The public view (no bookkeeping). */
export function toContainer(r: EngineRecord): EngineContainer {
  const { version: _v, phase: _p, namespace: _n, ...c } = r;
  return { ...c, config: { ...c.config }, hostConfig: { ...c.hostConfig }, state: { ...c.state }, mounts: c.mounts.map((m) => ({ ...m })) };
}
