/** The /tasks/* event payloads (containerd.events.Task*), as plain objects for the publisher. */
import type { Mount } from '../core/types';
import type { EventPublisher } from '../events/types';
import type { Exit, TaskIO } from './types';

export function timestampOf(exit: Exit | undefined): { seconds: number; nanos: number } {
  if (!exit) return { seconds: -62135596800, nanos: 0 }; // containerd's zero time (year 0001)
  if (exit.exitedAtNs !== undefined) {
    const s = exit.exitedAtNs / 1_000_000_000n;
    return { seconds: Number(s), nanos: Number(exit.exitedAtNs - s * 1_000_000_000n) };
  }
  const ms = exit.exitedAt.getTime();
  const s = Math.floor(ms / 1000);
  return { seconds: s, nanos: (ms - s * 1000) * 1e6 };
}

export class TaskEvents {
  constructor(private readonly pub: EventPublisher | undefined) {}

  create(ns: string, containerId: string, bundle: string, rootfs: Mount[], io: TaskIO, pid: number): void {
    this.pub?.publish(ns, '/tasks/create', 'containerd.events.TaskCreate', {
      container_id: containerId,
      bundle,
      rootfs: rootfs.map((m) => ({ type: m.type, source: m.source, target: m.target ?? '', options: m.options })),
      io: { stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, terminal: io.terminal },
      pid,
    });
  }
  start(ns: string, containerId: string, pid: number): void {
    this.pub?.publish(ns, '/tasks/start', 'containerd.events.TaskStart', { container_id: containerId, pid });
  }
  execAdded(ns: string, containerId: string, execId: string): void {
    this.pub?.publish(ns, '/tasks/exec-added', 'containerd.events.TaskExecAdded', { container_id: containerId, exec_id: execId });
  }
  execStarted(ns: string, containerId: string, execId: string, pid: number): void {
    this.pub?.publish(ns, '/tasks/exec-started', 'containerd.events.TaskExecStarted', { container_id: containerId, exec_id: execId, pid });
  }
  exit(ns: string, containerId: string, id: string, exit: Exit): void {
    if (exit.oomKilled) this.pub?.publish(ns, '/tasks/oom', 'containerd.events.TaskOOM', { container_id: containerId });
    this.pub?.publish(ns, '/tasks/exit', 'containerd.events.TaskExit', {
      container_id: containerId,
      id,
      pid: exit.pid,
      exit_status: exit.exitStatus,
      exited_at: timestampOf(exit),
    });
  }
  delete(ns: string, containerId: string, exit: Exit): void {
    this.pub?.publish(ns, '/tasks/delete', 'containerd.events.TaskDelete', {
      container_id: containerId,
      pid: exit.pid,
      exit_status: exit.exitStatus,
      exited_at: timestampOf(exit),
      id: containerId,
    });
  }
  paused(ns: string, containerId: string): void {
    this.pub?.publish(ns, '/tasks/paused', 'containerd.events.TaskPaused', { container_id: containerId });
  }
  resumed(ns: string, containerId: string): void {
    this.pub?.publish(ns, '/tasks/resumed', 'containerd.events.TaskResumed', { container_id: containerId });
  }
}
