/** Domain types of the tasks slice (no fs, no grpc). */
import type { Mount } from '../core/types';

export type ProcStatus = 'created' | 'running' | 'paused' | 'stopped';

/** The stdio a client asked for: FIFO paths, `file:///…` URIs, or '' for none. */
export interface TaskIO {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export interface Exit {
  pid: number;
  /** Exit code, or 128 + signal. */
  exitStatus: number;
  exitedAt: Date;
  /** Nanoseconds since the epoch, when known precisely. */
  exitedAtNs?: bigint;
  oomKilled: boolean;
}

/** What Get/List report for one process (init or exec). */
export interface ProcessView {
  containerId: string;
  /** Container id for the init process, exec id for an exec. */
  id: string;
  execId?: string;
  pid: number;
  status: ProcStatus;
  io: TaskIO;
  exit?: Exit;
}

/**
 * The monitor holds the process's stdio (berth's engine; no FIFOs): a json-file log of
 * stdout/stderr, and attachers on its control socket (TaskManager.attach). `io` must then name
 * no FIFOs or files.
 */
export interface TaskCapture {
  /** The process gets a stdin that attachers feed. */
  stdinOpen: boolean;
  log?: { path: string; maxSize: number; maxFiles: number };
}

export interface CreateTaskOptions {
  containerId: string;
  /** The request's rootfs mounts; empty = the container's snapshot mounts. */
  rootfs: Mount[];
  io: TaskIO;
  capture?: TaskCapture;
}

export interface ExecOptions {
  containerId: string;
  execId: string;
  io: TaskIO;
  capture?: TaskCapture;
  /** The OCI `process` object (JSON of the Any). */
  process: unknown;
}

/** OCI LinuxResources subset Update applies (already validated at the edge). */
export interface ResourceUpdate {
  memory?: { limit?: number; reservation?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
}

/** One Metric: `data` is a plain object of the proto message named by `typeName`. */
export interface TaskMetric {
  id: string;
  timestamp: Date;
  typeName: 'io.containerd.cgroups.v1.Metrics' | 'io.containerd.cgroups.v2.Metrics';
  data: Record<string, unknown>;
}

export interface PidInfo {
  pid: number;
  /** Set when the pid is an exec's process. */
  execId?: string;
}
