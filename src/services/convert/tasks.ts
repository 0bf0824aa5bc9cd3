import type { Exit, ProcessView, PidInfo, TaskMetric } from '../../tasks';
import { timestampOf } from '../../tasks';
import { protoRoot, type AnyValue } from '../../api/proto';

const STATUS = { created: 'CREATED', running: 'RUNNING', paused: 'PAUSED', stopped: 'STOPPED' } as const;

/**
 * containerd.v1.types.Process. containerd fills `id` with the container id (or the exec id) and
 * leaves container_id empty in Get and List; ctr prints `id`.
 */
export function processToProto(p: ProcessView) {
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
    exited_at: timestampOf(p.exit),
  };
}

export function exitToProto(e: Exit) {
  return { exit_status: e.exitStatus, exited_at: timestampOf(e) };
}

export function deleteResponse(e: Exit, id = '') {
  return { id, pid: e.pid, exit_status: e.exitStatus, exited_at: timestampOf(e) };
}

/**
 * Packs a plain object as an Any with a bare type URL. Unlike packAny this goes through
 * fromObject without verify, so uint64 fields may be decimal strings (cgroup limits exceed 2^53).
 */
export function packObject(fullName: string, obj: Record<string, unknown>): AnyValue {
  const type = protoRoot().lookupType(fullName);
  return { type_url: fullName, value: Buffer.from(type.encode(type.fromObject(obj)).finish()) };
}

export function pidInfoToProto(p: PidInfo) {
  return { pid: p.pid, info: p.execId ? packObject('containerd.runc.v1.ProcessDetails', { exec_id: p.execId }) : null };
}

export function metricToProto(m: TaskMetric) {
  return { timestamp: timestampOf({ pid: 0, exitStatus: 0, exitedAt: m.timestamp, oomKilled: false }), id: m.id, data: packObject(m.typeName, m.data) };
}
