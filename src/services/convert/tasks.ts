import type { Exit, ProcessView, PidInfo, TaskMetric } from '../../tasks';
import { timestampOf } from '../../tasks';
import { packAny } from '../../api';
import type { Timestamp } from '../../api/gen/google/protobuf/timestamp';
import type { Process, ProcessInfo } from '../../api/gen/containerd/types/task/task';
import type { Metric } from '../../api/gen/containerd/types/metrics';
import type { DeleteResponse, WaitResponse } from '../../api/gen/containerd/services/tasks/v1/tasks';

const STATUS = { created: 'CREATED', running: 'RUNNING', paused: 'PAUSED', stopped: 'STOPPED' } as const;

function exitedAt(e: Exit | undefined): Timestamp {
  const t = timestampOf(e);
  return { seconds: String(t.seconds), nanos: t.nanos };
}

/**
 * containerd.v1.types.Process. containerd fills `id` with the container id (or the exec id) and
 * leaves container_id empty in Get and List; ctr prints `id`.
 */
export function processToProto(p: ProcessView): Process {
  return {
    container_id: '',
    id: p.id,
    pid: p.pid,
    status: STATUS[p.status],
    stdin: p.io.stdin,
    stdout: p.io.stdout,
    stderr: p.io.stderr,
    terminal: p.io.terminal,
    exit_status: p.exit?.exitStatus ?? 0,
    exited_at: exitedAt(p.exit),
  };
}

export function exitToProto(e: Exit): WaitResponse {
  return { exit_status: e.exitStatus, exited_at: exitedAt(e) };
}

export function deleteResponse(e: Exit, id = ''): DeleteResponse {
  return { id, pid: e.pid, exit_status: e.exitStatus, exited_at: exitedAt(e) };
}

export function pidInfoToProto(p: PidInfo): ProcessInfo {
  return { pid: p.pid, info: p.execId ? packAny('containerd.runc.v1.ProcessDetails', { exec_id: p.execId }) : undefined };
}

/** uint64 counters stay decimal strings (cgroup limits exceed 2^53). */
export function metricToProto(m: TaskMetric): Metric {
  return { timestamp: exitedAt({ pid: 0, exitStatus: 0, exitedAt: m.timestamp, oomKilled: false }), id: m.id, data: packAny(m.typeName, m.data) };
}
