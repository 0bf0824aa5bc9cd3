/**
 * A task: a container's init process plus its execs, with the bundle they live in. State
 * transitions (start, kill, pause, exec, delete) run one at a time per task through `serial`;
 * Wait never takes the lock (it may arrive before Start and must not block it).
 */
import { alreadyExists, notFound } from '../core/errors';
import type { TaskRecord } from './bundle';
import type { SeccompFilter } from './helper/seccomp-compiler';
import type { Proc } from './process';

export class Task {
  readonly execs = new Map<string, Proc>();
  private chain: Promise<unknown> = Promise.resolve();
  /** Set once Delete started: no further transitions. */
  deleting = false;
  /** The container's seccomp filter, which its execs get too (null: none; undefined: not read yet, after a restore). */
  seccomp?: SeccompFilter | null;

  constructor(
    readonly namespace: string,
    readonly bundle: string,
    readonly record: TaskRecord,
    readonly init: Proc,
  ) {}

  get id(): string {
    return this.record.containerId;
  }

  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  proc(execId?: string): Proc {
    if (!execId) return this.init;
    const p = this.execs.get(execId);
    if (!p) throw notFound(`exec ${execId} in task ${this.id}: not found`);
    return p;
  }

  reserveExec(execId: string): void {
    if (this.execs.has(execId)) throw alreadyExists(`exec ${execId} in task ${this.id}: already exists`);
  }
}
