/**
 * The engine's domain types and its interface: Docker's container semantics (names, the
 * create/start/stop/kill/rm state machine, logs, attach, exec, commit) on top of containerd's
 * containers and berth's tasks. berth's own gRPC API (proto/berth/engine/v1/engine.proto) serves
 * this interface; the Docker Engine API and the CRI are to map onto it too, so fields follow
 * Docker's names where Docker has one.
 */
import type { LogLines } from './logs/lines';
import type { Ctx } from '../core/context';
import type { Volumes } from '../volumes';
import type { EngineFiles } from './files/types';
import type { MountSpec } from './mounts/types';
import type { ContainerNetConfig, NetworkCreateOptions, NetworkFlags, NetworkInspect, NetworkListOptions, NetworkSettings, PortBinding } from './network/types';
import type { PruneOptions, PruneReport, SystemPruneOptions, SystemPruneReport } from './prune';
import type { RestartPolicy } from './restart/policy';
import type { UpdateOptions } from './update';

export type { ContainerNetConfig, NetworkCreateOptions, NetworkInspect, NetworkListOptions, NetworkSettings, PortBinding } from './network/types';

/** Docker's container states (`docker ps` STATUS, `State.Status` in inspect). */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead' | 'removing';

/** Docker's NetworkMode: `bridge` (the default network), `none`, `host`, `container:<id>`, or a network's name. */
export type NetworkMode = string;

/** Docker's Config: what describes the process, merged from the image and the request. */
export interface ContainerConfig {
  hostname: string;
  domainname: string;
  user: string;
  env: string[];
  cmd: string[];
  entrypoint: string[];
  workingDir: string;
  labels: Record<string, string>;
  tty: boolean;
  openStdin: boolean;
  /** Close stdin when the attacher that had it detaches (`docker run -i`). */
  stdinOnce: boolean;
  /** `80/tcp`, recorded from the image and the request (publishing comes with networking). */
  exposedPorts: string[];
  /** Paths the image declares as volumes (recorded; volumes come with their own issue). */
  volumes: string[];
  stopSignal: string;
  /** Seconds `stop` waits before SIGKILL when the caller gives none (Docker's default 10). */
  stopTimeout?: number;
  /** The image as the user named it. */
  image: string;
}

export interface LogConfig {
  /** json-file `max-size` in bytes; 0 = never rotate (Docker's default). */
  maxSize: number;
  /** json-file `max-file`: files kept, the current one included. */
  maxFile: number;
}

/** Docker's HostConfig subset the engine implements. */
export interface HostConfig {
  init: boolean;
  privileged: boolean;
  readonlyRootfs: boolean;
  capAdd: string[];
  capDrop: string[];
  /** Bytes; 0 = no limit. */
  memory: number;
  /** CPUs × 1e9 (Docker's NanoCpus); 0 = no limit. */
  nanoCpus: number;
  /** 0 = no limit. */
  pidsLimit: number;
  networkMode: NetworkMode;
  /** `-p`, as asked (host port 0 = chosen at start). */
  portBindings: PortBinding[];
  /** `-P`. */
  publishAllPorts: boolean;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** `--add-host` as given (`name:ip`). */
  extraHosts: string[];
  /** Bytes of /dev/shm (Docker's default 64 MiB). */
  shmSize: number;
  logConfig: LogConfig;
  /** `--rm`: removed once it exits. */
  autoRemove: boolean;
  /** `--security-opt` values, kept for the seccomp/apparmor hooks (validated there). */
  securityOpt: string[];
  /** `--restart`. */
  restartPolicy: RestartPolicy;
  /** `-v`, `--mount`, `--tmpfs`, `--volumes-from` as given (the mounts they made are EngineContainer.mounts). */
  binds: string[];
  mounts: string[];
  tmpfs: string[];
  volumesFrom: string[];
}

export interface ContainerState {
  status: ContainerStatus;
  /** Host pid of the init while it runs, else 0. */
  pid: number;
  exitCode: number;
  /** Why it is dead or why start failed, Docker's State.Error. */
  error: string;
  oomKilled: boolean;
  startedAt?: Date;
  finishedAt?: Date;
  restartCount: number;
  /** Stopped on purpose (stop, or a kill) since its last start: `unless-stopped` then stays down (Docker's HasBeenManuallyStopped). */
  manuallyStopped: boolean;
}

export interface EngineContainer {
  /** 64 hex digits. */
  id: string;
  /** Without Docker's leading slash. */
  name: string;
  created: Date;
  /** Image id: the config digest (`sha256:…`). */
  imageId: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  state: ContainerState;
  /** The process as it runs: Docker's Path and Args. */
  path: string;
  args: string[];
  logPath: string;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
  snapshotter: string;
  snapshotKey: string;
  /** The networks it is on (the checked request; network connect/disconnect change it). */
  network: ContainerNetConfig;
  /** Addresses and published ports while it runs (Docker's NetworkSettings); only the mode when it does not. */
  networkSettings: NetworkSettings;
  /** Its mount points (volumes by name, binds, tmpfs), in Docker's order: `inspect`'s Mounts. */
  mounts: MountSpec[];
}

/** One row of `ps`. */
export interface ContainerSummary {
  id: string;
  names: string[];
  image: string;
  imageId: string;
  command: string;
  created: Date;
  status: ContainerStatus;
  /** Docker's human Status: `Up 3 minutes`, `Exited (0) 2 seconds ago`. */
  statusText: string;
  labels: Record<string, string>;
  /** Published ports while it runs (`ps` PORTS: formatPorts). */
  ports: PortBinding[];
  /** Names of the networks it is on. */
  networks: string[];
}

/** `docker create` / `run` options; sizes and CPUs may be Docker's strings (`64m`, `1.5`). */
/** `run`/`create`; the networking flags (`--ip`, `-p`, `-P`, `--dns*`, `--add-host`) are NetworkFlags. */
export interface CreateOptions extends NetworkFlags {
  name?: string;
  image: string;
  /** Replaces the image's Cmd (an empty array keeps it). */
  cmd?: string[];
  /** Replaces the image's Entrypoint; `['']` clears it (`--entrypoint ''`), and then the image's Cmd too. */
  entrypoint?: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  hostname?: string;
  domainname?: string;
  labels?: Record<string, string>;
  tty?: boolean;
  openStdin?: boolean;
  stdinOnce?: boolean;
  exposedPorts?: string[];
  stopSignal?: string;
  stopTimeout?: number;
  init?: boolean;
  privileged?: boolean;
  readonlyRootfs?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  memory?: number | string;
  cpus?: number | string;
  pidsLimit?: number;
  /** `--network`: bridge (default), none, host, container:<name|id>, or a network's name or id. */
  network?: string;
  /** Further networks (`--network a --network b`), each with its own --ip and aliases. */
  moreNetworks?: Array<{ network: string; ip?: string; aliases?: string[] }>;
  /** `--network-alias` on the first network. */
  networkAliases?: string[];
  shmSize?: number | string;
  logOpts?: Record<string, string>;
  autoRemove?: boolean;
  securityOpt?: string[];
  /** `--restart no|on-failure[:N]|always|unless-stopped`. */
  restart?: string;
  /** `-v [SOURCE:]TARGET[:MODE]`. */
  volumes?: string[];
  /** `--mount type=…,…` (the docker CLI's CSV form). */
  mounts?: string[];
  /** `--tmpfs /path[:opts]`. */
  tmpfs?: string[];
  /** `--volumes-from CONTAINER[:ro|:rw]`. */
  volumesFrom?: string[];
}

export interface StopOptions {
  /** Seconds before SIGKILL; default the container's stopTimeout, else 10; -1 waits forever. */
  timeout?: number;
  /** Default the container's StopSignal. */
  signal?: string;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface WaitResult {
  exitCode: number;
  error?: string;
}

export interface LogsOptions {
  stdout?: boolean;
  stderr?: boolean;
  /** Only entries at or after this time. */
  since?: Date;
  /** Only entries before this time. */
  until?: Date;
  /** Last N entries (of those selected); undefined = all. */
  tail?: number;
  /** Keep following until the container stops (or the signal aborts). */
  follow?: boolean;
}

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  time: Date;
  /** The time exactly as the log has it (RFC 3339, nanoseconds), for `--timestamps`. */
  timestamp: string;
  /** The bytes (the log's text in UTF-8; a partial piece has no newline). */
  data: Buffer;
}

export interface AttachOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** Docker's detach keys, e.g. `ctrl-p,ctrl-q` (the default); '' = none. */
  detachKeys?: string;
}

export type StreamEvent =
  { kind: 'stdout' | 'stderr'; data: Buffer } | { kind: 'dropped'; bytes: number } | { kind: 'exit'; exitCode: number } | { kind: 'detached' };

/** A live attach (or exec) session: output until exit or detach, stdin, resize. */
export interface StreamSession {
  readonly tty: boolean;
  readonly stdin: boolean;
  events(): AsyncIterable<StreamEvent>;
  /** stdin bytes; the detach key sequence in them ends the session. */
  write(data: Buffer): Promise<void>;
  /** End of the client's stdin: closes the process's stdin when it was asked to (stdinOnce, exec). */
  closeStdin(): Promise<void>;
  resize(width: number, height: number): Promise<void>;
  close(): void;
}

export interface ExecOptions {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  tty?: boolean;
  stdin?: boolean;
  privileged?: boolean;
  detachKeys?: string;
  /** Start without attaching (`exec -d`). */
  detach?: boolean;
}

export interface ExecSession extends StreamSession {
  readonly execId: string;
  /** Resolves with the exit code. */
  wait(): Promise<number>;
}

export interface TopResult {
  titles: string[];
  processes: string[][];
}

export interface StatsSample {
  read: Date;
  /** Cumulative CPU time of the container, nanoseconds. */
  cpuUsageNs: number;
  /** Cumulative CPU time of the host (all CPUs), nanoseconds, for the percentage. */
  systemCpuNs: number;
  onlineCpus: number;
  /** Docker's CPU %: Δcontainer / Δsystem × CPUs × 100 against the previous sample (0 for the first). */
  cpuPercent: number;
  /** Usage minus inactive file cache, as `docker stats` shows it. */
  memoryUsage: number;
  /** The limit, or the host's memory when none. */
  memoryLimit: number;
  memoryPercent: number;
  pids: number;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
}

export interface CommitOptions {
  /** `repo[:tag]`; none = a dangling image known by id only. */
  reference?: string;
  comment?: string;
  author?: string;
  /** Pause the container while its changes are read (Docker's default true). */
  pause?: boolean;
}

export interface CommitResult {
  /** The new image's config digest. */
  imageId: string;
  /** The image record's name. */
  name: string;
}

export type EngineAction =
  | 'create'
  | 'start'
  | 'die'
  | 'stop'
  | 'kill'
  | 'destroy'
  | 'rename'
  | 'pause'
  | 'unpause'
  | 'commit'
  | 'restart'
  | 'attach'
  | 'detach'
  | 'exec_create'
  | 'exec_start'
  | 'exec_die'
  | 'oom';

export interface EngineEvent {
  action: EngineAction;
  id: string;
  name: string;
  image: string;
  time: Date;
  /** Docker's Actor.Attributes: name, image, exitCode, signal, oldName, … */
  attributes: Record<string, string>;
}

export interface ListOptions {
  /** Include stopped containers (`ps -a`). */
  all?: boolean;
  /** Docker-style filters: `name=`, `id=`, `status=`, `label=k[=v]`, `ancestor=`. */
  filters?: Record<string, string[]>;
}

export interface EventsOptions {
  /** Docker's filters: container, event, image, label, type. */
  filters?: Record<string, string[]>;
  /** Replay the events berthd remembers from this time, then follow. */
  since?: Date;
  /** End at this time. */
  until?: Date;
}

/** `docker images`: one image per id (the config digest), with its names. */
export interface ImageSummary {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** From the config's `created`; undefined when it has none. */
  created?: Date;
  size: number;
  labels: Record<string, string>;
  containers: number;
}

export interface ImageDetail {
  summary: ImageSummary;
  configJson: Buffer;
  manifestDigest: string;
  mediaType: string;
}

export interface RemoveImageResult {
  untagged: string[];
  deleted: string[];
}

/** The engine as berthd serves it. Every `ref` is a full id, a unique id prefix, or a name. */
export interface Engine extends EngineFiles {
  /** With Docker's warnings (e.g. published ports discarded in host mode). */
  create(ctx: Ctx, opts: CreateOptions): Promise<EngineContainer & { warnings: string[] }>;
  start(ctx: Ctx, ref: string): Promise<void>;
  stop(ctx: Ctx, ref: string, opts?: StopOptions): Promise<void>;
  restart(ctx: Ctx, ref: string, opts?: StopOptions): Promise<void>;
  kill(ctx: Ctx, ref: string, signal?: string | number): Promise<void>;
  pause(ctx: Ctx, ref: string): Promise<void>;
  unpause(ctx: Ctx, ref: string): Promise<void>;
  /** `volumes` (`rm -v`): its anonymous volumes go too. */
  remove(ctx: Ctx, ref: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
  rename(ctx: Ctx, ref: string, newName: string): Promise<void>;
  wait(ctx: Ctx, ref: string, condition?: WaitCondition): Promise<WaitResult>;
  inspect(ctx: Ctx, ref: string): Promise<EngineContainer>;
  list(ctx: Ctx, opts?: ListOptions): Promise<ContainerSummary[]>;
  logs(ctx: Ctx, ref: string, opts?: LogsOptions): AsyncIterable<LogEntry>;
  /** `logs` in batches, for a stream that sends many entries at a time (and may encode their spans itself). */
  logBatches(ctx: Ctx, ref: string, opts?: LogsOptions): AsyncIterable<LogLines>;
  attach(ctx: Ctx, ref: string, opts?: AttachOptions): Promise<StreamSession>;
  exec(ctx: Ctx, ref: string, opts: ExecOptions): Promise<ExecSession>;
  resize(ctx: Ctx, ref: string, width: number, height: number, execId?: string): Promise<void>;
  top(ctx: Ctx, ref: string): Promise<TopResult>;
  stats(ctx: Ctx, ref: string, opts?: { stream?: boolean; intervalMs?: number }): AsyncIterable<StatsSample>;
  commit(ctx: Ctx, ref: string, opts?: CommitOptions): Promise<CommitResult>;
  events(ctx: Ctx, opts?: EventsOptions): AsyncIterable<EngineEvent>;
  listImages(ctx: Ctx, filters?: Record<string, string[]>): Promise<ImageSummary[]>;
  inspectImage(ctx: Ctx, ref: string): Promise<ImageDetail>;
  removeImage(ctx: Ctx, ref: string, opts?: { force?: boolean }): Promise<RemoveImageResult>;
  createNetwork(ctx: Ctx, opts: NetworkCreateOptions): Promise<NetworkInspect>;
  inspectNetwork(ctx: Ctx, ref: string): Promise<NetworkInspect>;
  listNetworks(ctx: Ctx, opts?: NetworkListOptions): Promise<NetworkInspect[]>;
  removeNetwork(ctx: Ctx, ref: string): Promise<void>;
  /** Removes user networks no container is on; returns their names. */
  pruneNetworks(ctx: Ctx, filters?: Record<string, string[]>): Promise<string[]>;
  /** `network connect`: at once on a running container, from its next start otherwise. */
  connect(ctx: Ctx, network: string, container: string, opts?: { ip?: string; aliases?: string[] }): Promise<void>;
  disconnect(ctx: Ctx, network: string, container: string): Promise<void>;
  /** `update`: resources of a running container change at once; `--restart` too. Returns Docker's warnings. */
  update(ctx: Ctx, ref: string, opts: UpdateOptions): Promise<{ warnings: string[] }>;
  /** `container prune`: every container that is not running. */
  prune(ctx: Ctx, opts?: PruneOptions): Promise<PruneReport>;
  /** `image prune`: dangling images (names that are only a digest), or with `all` every image no container uses. */
  pruneImages(ctx: Ctx, opts?: PruneOptions & { all?: boolean }): Promise<PruneReport>;
  /** `system prune`: containers, then images, then (with `volumes`) volumes; no networks of its own, no build cache. */
  systemPrune(ctx: Ctx, opts?: SystemPruneOptions): Promise<SystemPruneReport>;
  /** `volume create/ls/inspect/rm/prune`. */
  readonly volumes: Volumes;
}
