/**
 * A create request merged with the image's config as Docker merges them (daemon/commit.go
 * merge + the CLI's defaults): Cmd/Entrypoint, Env by key, Labels, ExposedPorts, Volumes,
 * WorkingDir, User, StopSignal; and the HostConfig with Docker's defaults.
 */
import { invalidArgument } from '../core/errors';
import type { ImageConfigJson } from './image';
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag, parseVolumesFrom } from './mounts/parse';
import { checkAutoRemove, parseRestartPolicy } from './restart/policy';
import { shortId } from './names';
import { parseCpus, parseLogOpts, parseMemory, parseSignal, parseSize } from './units';
import type { ContainerConfig, CreateOptions, HostConfig, LogConfig, NetworkMode } from './types';

export const DEFAULT_STOP_TIMEOUT_S = 10;
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
/** Docker's json-file default: one file, never rotated. */
export const DEFAULT_LOG_CONFIG: LogConfig = { maxSize: 0, maxFile: 1 };
/**
 * Without CNI (a later issue brings Docker's bridge), a container gets a network namespace of
 * its own with nothing in it: Docker's `--network none`. `host` shares berthd's.
 */
export const DEFAULT_NETWORK: NetworkMode = 'none';

const envKey = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);

/** Docker's ReplaceOrAppendEnvValues: an override replaces its key in place; `KEY` alone removes it. */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  for (const o of overrides) {
    const k = envKey(o);
    const i = out.findIndex((e) => envKey(e) === k);
    if (!o.includes('=')) {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = o;
    else out.push(o);
  }
  return out;
}

function validateEnv(env: readonly string[]): void {
  for (const e of env) {
    if (e.includes('\0')) throw invalidArgument(`environment variable ${JSON.stringify(e.slice(0, 40))} contains a NUL byte`);
    if (envKey(e) === '') throw invalidArgument(`invalid environment variable: ${JSON.stringify(e)}`);
  }
}

function portKey(p: string): string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/.exec(p.trim());
  if (!m || Number(m[1]) > 65535) throw invalidArgument(`invalid port ${JSON.stringify(p)}`);
  return `${m[1]}${m[2] ? `-${m[2]}` : ''}/${m[3] ?? 'tcp'}`;
}

function networkMode(v: string | undefined): NetworkMode {
  if (v === undefined || v === '' || v === 'default') return DEFAULT_NETWORK;
  if (v === 'none' || v === 'host') return v;
  if (v === 'bridge') throw invalidArgument('network "bridge": not available yet (needs the CNI networking issue); use --network none or --network host');
  throw invalidArgument(`network ${JSON.stringify(v)} not found (berth has "none" and "host" for now)`);
}

export function buildConfig(o: CreateOptions, image: ImageConfigJson, id: string): { config: ContainerConfig; hostConfig: HostConfig } {
  const ic = image.config ?? {};
  const clearEntrypoint = o.entrypoint?.length === 1 && o.entrypoint[0] === '';
  const userEntrypoint = o.entrypoint && o.entrypoint.length > 0 ? o.entrypoint : undefined;
  let cmd = o.cmd && o.cmd.length > 0 ? o.cmd : undefined;
  let entrypoint: string[];
  if (userEntrypoint) entrypoint = clearEntrypoint ? [] : userEntrypoint;
  else {
    cmd ??= ic.Cmd ?? undefined;
    entrypoint = ic.Entrypoint ?? [];
  }
  if (entrypoint.length === 0 && (!cmd || cmd.length === 0)) throw invalidArgument('no command specified');
  const env = mergeEnv(ic.Env ?? [], o.env ?? []);
  validateEnv(env);
  const workingDir = o.workingDir || ic.WorkingDir || '';
  if (workingDir && !workingDir.startsWith('/')) throw invalidArgument(`the working directory '${workingDir}' is invalid: it needs to be an absolute path`);
  const hostname = o.hostname || shortId(id);
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(hostname)) throw invalidArgument(`invalid hostname format: ${hostname}`);
  const stopSignal = o.stopSignal || ic.StopSignal || 'SIGTERM';
  parseSignal(stopSignal);
  if (o.stopTimeout !== undefined && (!Number.isInteger(o.stopTimeout) || o.stopTimeout < -1)) throw invalidArgument(`invalid stop timeout ${o.stopTimeout}`);
  const config: ContainerConfig = {
    hostname,
    domainname: o.domainname ?? '',
    user: o.user ?? ic.User ?? '',
    env,
    cmd: cmd ?? [],
    entrypoint,
    workingDir,
    labels: { ...(ic.Labels ?? {}), ...(o.labels ?? {}) },
    tty: o.tty ?? false,
    openStdin: o.openStdin ?? false,
    stdinOnce: o.stdinOnce ?? false,
    exposedPorts: [...new Set([...Object.keys(ic.ExposedPorts ?? {}), ...(o.exposedPorts ?? [])].map(portKey))].sort(),
    volumes: Object.keys(ic.Volumes ?? {}).sort(),
    stopSignal,
    stopTimeout: o.stopTimeout,
    image: o.image,
  };
  const pidsLimit = o.pidsLimit ?? 0;
  if (!Number.isInteger(pidsLimit) || pidsLimit < -1) throw invalidArgument(`invalid pids limit ${o.pidsLimit}`);
  const hostConfig: HostConfig = {
    init: o.init ?? false,
    privileged: o.privileged ?? false,
    readonlyRootfs: o.readonlyRootfs ?? false,
    capAdd: o.capAdd ?? [],
    capDrop: o.capDrop ?? [],
    memory: parseMemory(o.memory),
    nanoCpus: parseCpus(o.cpus),
    pidsLimit: pidsLimit > 0 ? pidsLimit : 0,
    networkMode: networkMode(o.network),
    shmSize: o.shmSize === undefined || o.shmSize === '' ? DEFAULT_SHM_SIZE : parseSize(o.shmSize, 'shm-size'),
    logConfig: parseLogOpts(o.logOpts, DEFAULT_LOG_CONFIG),
    autoRemove: o.autoRemove ?? false,
    securityOpt: o.securityOpt ?? [],
    restartPolicy: parseRestartPolicy(o.restart ?? ''),
    binds: o.volumes ?? [],
    mounts: o.mounts ?? [],
    tmpfs: o.tmpfs ?? [],
    volumesFrom: o.volumesFrom ?? [],
  };
  checkAutoRemove(hostConfig.restartPolicy, hostConfig.autoRemove);
  // Parsed now for their errors; planned (with the volumes-from containers) at create.
  hostConfig.binds.forEach(parseVolumeFlag);
  hostConfig.mounts.forEach(parseMountFlag);
  hostConfig.tmpfs.forEach(parseTmpfsFlag);
  hostConfig.volumesFrom.forEach(parseVolumesFrom);
  if (hostConfig.shmSize <= 0) throw invalidArgument('shm-size must be greater than 0');
  return { config, hostConfig };
}

/** Docker's Path and Args: the entrypoint's first word, or the command's. */
export function processArgs(c: Pick<ContainerConfig, 'entrypoint' | 'cmd'>): string[] {
  return [...c.entrypoint, ...c.cmd];
}
