/**
 * The engine's stored record of a container (metadata/engine-containers.ts), validated when read
 * back. `phase` is the engine's own bookkeeping: `creating` until create finished (a record left
 * so by a crash is cleaned up at start-up), `removing` once removal began.
 */
import { z } from 'zod';
import type { RecordCodec } from '../metadata/engine-containers';
import { ContainerNetConfigSchema, legacyNetConfig, PortSchema } from './network/schema';
import type { EngineContainer, NetworkSettings } from './types';

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
    networkMode: z.string(),
    portBindings: z.array(PortSchema).default([]),
    publishAllPorts: z.boolean().default(false),
    dns: z.array(z.string()).default([]),
    dnsSearch: z.array(z.string()).default([]),
    dnsOptions: z.array(z.string()).default([]),
    extraHosts: z.array(z.string()).default([]),
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
  network: ContainerNetConfigSchema.optional(),
  mounts: z.array(MountSpecSchema).default([]),
});

export type Phase = 'creating' | 'ready' | 'removing';

/** The record as the engine uses it: the container plus its bookkeeping (the live network settings are not kept). */
export interface EngineRecord extends Omit<EngineContainer, 'networkSettings'> {
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
  const r = EngineRecordSchema.parse(s);
  return { ...r, network: r.network ?? legacyNetConfig(r.hostConfig.networkMode) } as EngineRecord;
}

/**
 * What fromStored makes of a stored record that is already in the schema's shape (what toStored
 * writes: every field, no others), without checking it again: its dates. Only for text known to
 * be such a record (records.ts).
 */
export function revive(s: StoredRecord): EngineRecord {
  const state = { ...s.state } as unknown as EngineRecord['state'];
  if (s.state.startedAt !== undefined) state.startedAt = new Date(s.state.startedAt);
  if (s.state.finishedAt !== undefined) state.finishedAt = new Date(s.state.finishedAt);
  return { ...s, created: new Date(s.created), state, network: s.network ?? legacyNetConfig(s.hostConfig.networkMode) };
}

/** The public view (no bookkeeping), with the live network settings when it runs. */
export function toContainer(r: EngineRecord, live?: NetworkSettings): EngineContainer {
  const { version: _v, phase: _p, namespace: _n, ...c } = r;
  const networkSettings = live ?? { mode: r.network.mode, sandboxKey: '', networks: [], ports: [] };
  const mounts = c.mounts.map((m) => ({ ...m }));
  return { ...c, config: { ...c.config }, hostConfig: { ...c.hostConfig }, state: { ...c.state }, mounts, networkSettings };
}

/**
 * Records as the stored JSON text. Decoding checks the text against the schema (what is on disk
 * may come from another berthd version, or be damaged), except text this berthd wrote itself or
 * has already checked: the latest such text of each container is kept (the very string the
 * metadata DB holds, not a copy), and exactly that text reads back with JSON.parse and its dates
 * (revive). The schema was ~10 parses of ~0.13 ms in each `run --rm`. Nothing can go stale: a
 * record changed by any write is other text, checked again unless written here; every decode
 * hands out objects of its own.
 */
export class RecordJson implements RecordCodec<EngineRecord> {
  private readonly known = new Map<string, string>();

  readonly encode = (r: EngineRecord): string => {
    const json = JSON.stringify(toStored(r));
    this.remember(r, json);
    return json;
  };

  readonly decode = (json: string): EngineRecord => {
    const s = JSON.parse(json) as StoredRecord | null;
    if (typeof s === 'object' && s !== null && this.known.get(`${s.namespace}/${s.id}`) === json) return revive(s);
    const r = fromStored(s);
    // Text in the schema's own shape (no field added by a default, none dropped) reads back as it is.
    if (JSON.stringify(toStored(r)) === json) this.remember(r, json);
    return r;
  };

  forget(ns: string, id: string): void {
    this.known.delete(`${ns}/${id}`);
  }

  private remember(r: EngineRecord, json: string): void {
    if (this.known.size >= KNOWN_MAX) this.known.clear(); // records removed behind the engine's back (a namespace's)
    this.known.set(`${r.namespace}/${r.id}`, json);
  }
}

const KNOWN_MAX = 4096;
