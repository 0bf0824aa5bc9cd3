/** berth.engine.v1 wire types ↔ the engine's domain types (src/engine/types.ts). */
import { invalidArgument } from '../../core/errors';
import type {
  ContainerSummary,
  CreateOptions,
  EngineContainer,
  EngineEvent,
  ImageDetail,
  ImageSummary,
  LogEntry,
  LogsOptions,
  StatsSample,
  StreamEvent,
  WaitCondition,
} from '../../engine';
import type * as pb from '../../api/gen/berth/engine/v1/engine';
import { fromTimestamp, toTimestamp } from './common';
import { createNetworkFromProto, hostConfigNetworkToProto, networkSettingsToProto, summaryNetworkToProto } from './engine-network';
import { mountPointToProto, restartPolicyToProto } from './engine-parity';

const WAIT_CONDITIONS: readonly WaitCondition[] = ['not-running', 'next-exit', 'removed'];

/** Docker's filter map (`{name: {values: [...]}}`) as the engine takes it. */
export function filtersFromProto(f: { [key: string]: pb.FilterValues }): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(f)) out[k] = [...v.values];
  return out;
}

/** An int64 the engine reads as a number (the wire type is a decimal string). */
function int64(name: string, v: string): number {
  const n = v === '' ? 0 : Number(v);
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${name}: not an integer: ${JSON.stringify(v.slice(0, 40))}`);
  return n;
}

export function createFromProto(r: pb.CreateRequest): CreateOptions {
  const h = r.host_config;
  return {
    name: r.name || undefined,
    image: r.image,
    cmd: r.cmd,
    entrypoint: r.entrypoint_set ? (r.entrypoint.length ? r.entrypoint : ['']) : undefined,
    env: r.env,
    user: r.user || undefined,
    workingDir: r.working_dir || undefined,
    hostname: r.hostname || undefined,
    domainname: r.domainname || undefined,
    labels: r.labels,
    tty: r.tty,
    openStdin: r.open_stdin,
    stdinOnce: r.stdin_once,
    exposedPorts: r.exposed_ports,
    stopSignal: r.stop_signal || undefined,
    stopTimeout: r.stop_timeout,
    init: h?.init,
    privileged: h?.privileged,
    readonlyRootfs: h?.readonly_rootfs,
    capAdd: h?.cap_add,
    capDrop: h?.cap_drop,
    memory: h?.memory || undefined,
    cpus: h?.cpus || undefined,
    pidsLimit: h ? int64('pids_limit', h.pids_limit) : undefined,
    network: h?.network || undefined,
    shmSize: h?.shm_size || undefined,
    logOpts: h?.log_opts,
    autoRemove: h?.auto_remove,
    securityOpt: h?.security_opt,
    restart: h?.restart || undefined,
    volumes: h?.volumes,
    mounts: h?.mounts,
    tmpfs: h?.tmpfs,
    volumesFrom: h?.volumes_from,
    ...createNetworkFromProto(h),
  };
}

export function waitCondition(c: string): WaitCondition | undefined {
  if (!c) return undefined;
  if (!(WAIT_CONDITIONS as readonly string[]).includes(c))
    throw invalidArgument(`invalid condition: ${JSON.stringify(c.slice(0, 40))} (one of ${WAIT_CONDITIONS.join(', ')})`);
  return c as WaitCondition;
}

const ts = (d: Date | undefined) => (d ? toTimestamp(d) : undefined);

/** `dataDir`: a volume's directory, inspect's Mounts[].Source. */
export function containerToProto(c: EngineContainer, dataDir: (volume: string) => string = () => ''): pb.Container {
  const { config: k, hostConfig: h, state: s } = c;
  return {
    id: c.id,
    name: c.name,
    created: toTimestamp(c.created),
    image_id: c.imageId,
    config: {
      hostname: k.hostname,
      domainname: k.domainname,
      user: k.user,
      env: k.env,
      cmd: k.cmd,
      entrypoint: k.entrypoint,
      working_dir: k.workingDir,
      labels: k.labels,
      tty: k.tty,
      open_stdin: k.openStdin,
      stdin_once: k.stdinOnce,
      exposed_ports: k.exposedPorts,
      volumes: k.volumes,
      stop_signal: k.stopSignal,
      stop_timeout: k.stopTimeout,
      image: k.image,
    },
    host_config: {
      init: h.init,
      privileged: h.privileged,
      readonly_rootfs: h.readonlyRootfs,
      cap_add: h.capAdd,
      cap_drop: h.capDrop,
      memory: String(h.memory),
      nano_cpus: String(h.nanoCpus),
      pids_limit: String(h.pidsLimit),
      network_mode: h.networkMode,
      shm_size: String(h.shmSize),
      log_max_size: String(h.logConfig.maxSize),
      log_max_file: h.logConfig.maxFile,
      auto_remove: h.autoRemove,
      security_opt: h.securityOpt,
      ...hostConfigNetworkToProto(h),
      restart_policy: restartPolicyToProto(h.restartPolicy),
      binds: h.binds,
      mounts: h.mounts,
      tmpfs: h.tmpfs,
      volumes_from: h.volumesFrom,
    },
    state: {
      status: s.status,
      pid: s.pid,
      exit_code: s.exitCode,
      error: s.error,
      oom_killed: s.oomKilled,
      started_at: ts(s.startedAt),
      finished_at: ts(s.finishedAt),
      restart_count: s.restartCount,
    },
    path: c.path,
    args: c.args,
    log_path: c.logPath,
    hostname_path: c.hostnamePath,
    hosts_path: c.hostsPath,
    resolv_conf_path: c.resolvConfPath,
    snapshotter: c.snapshotter,
    snapshot_key: c.snapshotKey,
    network_settings: networkSettingsToProto(c.networkSettings),
    mounts: c.mounts.map((m) => mountPointToProto(m, dataDir)),
  };
}

export function summaryToProto(s: ContainerSummary): pb.ContainerSummary {
  return {
    id: s.id,
    names: s.names,
    image: s.image,
    image_id: s.imageId,
    command: s.command,
    created: toTimestamp(s.created),
    status: s.status,
    status_text: s.statusText,
    labels: s.labels,
    ...summaryNetworkToProto(s),
  };
}

export function logsFromProto(r: pb.LogsRequest): LogsOptions {
  const tail = r.tail === undefined ? undefined : int64('tail', r.tail);
  if (tail !== undefined && tail < 0) throw invalidArgument('tail: must not be negative');
  // Neither stream named: both, as Docker's API defaults them in its CLI.
  const both = !r.stdout && !r.stderr;
  return { stdout: both || r.stdout, stderr: both || r.stderr, since: fromTimestamp(r.since), until: fromTimestamp(r.until), tail, follow: r.follow };
}

/** The entry as a message (what encodeLogBatches in log-batch.ts writes as bytes). */
export function logEntryToProto(e: LogEntry): pb.LogEntry {
  return { stream: e.stream, time: toTimestamp(e.time), timestamp: e.timestamp, data: e.data };
}

export function streamEventToProto(e: StreamEvent): pb.StreamOutput {
  switch (e.kind) {
    case 'stdout':
      return { stdout: e.data };
    case 'stderr':
      return { stderr: e.data };
    case 'dropped':
      return { dropped: String(e.bytes) };
    case 'exit':
      return { exit_code: e.exitCode };
    case 'detached':
      return { detached: true };
  }
}

export function statsToProto(s: StatsSample): pb.StatsSample {
  const u = (n: number) => String(Math.max(0, Math.round(n)));
  return {
    read: toTimestamp(s.read),
    cpu_usage_ns: u(s.cpuUsageNs),
    system_cpu_ns: u(s.systemCpuNs),
    online_cpus: s.onlineCpus,
    cpu_percent: s.cpuPercent,
    memory_usage: u(s.memoryUsage),
    memory_limit: u(s.memoryLimit),
    memory_percent: s.memoryPercent,
    pids: u(s.pids),
    net_rx: u(s.netRx),
    net_tx: u(s.netTx),
    blk_read: u(s.blkRead),
    blk_write: u(s.blkWrite),
  };
}

export function eventToProto(e: EngineEvent): pb.ContainerEvent {
  return { action: e.action, id: e.id, name: e.name, image: e.image, time: toTimestamp(e.time), attributes: e.attributes };
}

export function imageSummaryToProto(s: ImageSummary): pb.ImageSummary {
  return {
    id: s.id,
    repo_tags: s.repoTags,
    repo_digests: s.repoDigests,
    created: ts(s.created),
    size: String(s.size),
    labels: s.labels,
    containers: s.containers,
  };
}

export function imageDetailToProto(d: ImageDetail): pb.ImageDetail {
  return { summary: imageSummaryToProto(d.summary), config_json: d.configJson, manifest_digest: d.manifestDigest, media_type: d.mediaType };
}
