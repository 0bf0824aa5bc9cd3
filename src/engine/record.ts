/**
 * The engine's stored record of a container (metadata/engine-containers.ts), validated when read
 * back. `phase` is the engine's own bookkeeping: `creating` until create finished (a record left
 * so by a crash is cleaned up at start-up), `removing` once removal began.
 */
import { z } from 'zod';
import { ContainerNetConfigSchema, legacyNetConfig, PortSchema } from './network/schema';
import type { EngineContainer, NetworkSettings } from './types';

const date = z.string().transform((s) => new Date(s));
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

/** The public view (no bookkeeping), with the live network settings when it runs. */
export function toContainer(r: EngineRecord, live?: NetworkSettings): EngineContainer {
  const { version: _v, phase: _p, namespace: _n, ...c } = r;
  const networkSettings = live ?? { mode: r.network.mode, sandboxKey: '', networks: [], ports: [] };
  return { ...c, config: { ...c.config }, hostConfig: { ...c.hostConfig }, state: { ...c.state }, networkSettings };
}
