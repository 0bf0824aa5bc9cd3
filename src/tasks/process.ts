/**
 * One supervised process (a task's init or an exec): its state machine and exit watcher.
 * created → running ⇄ paused → stopped. The watcher holds a `wait` request on the monitor's
 * control socket; when it answers, the exit is recorded, the owner's hook runs (events), and
 * every Wait caller is released — in that order, so a Get right after Wait sees STOPPED.
 */
import { failedPrecondition, isCanceled, notFound } from '../core/errors';
import type { Logger } from '../core/logger';
import { MonitorClient, type CreatedProcess, type ExitStatus } from './helper';
import type { Exit, ProcStatus, ProcessView, TaskCapture, TaskIO } from './types';

export interface ProcHooks {
  onExit(proc: Proc, exit: Exit): void;
}

const toExit = (e: ExitStatus): Exit => ({ pid: e.pid, exitStatus: e.exitStatus, exitedAt: e.exitedAt, exitedAtNs: e.exitedAtNs, oomKilled: e.oomKilled });

export class Proc {
  private _status: ProcStatus;
  private _exit?: Exit;
  private created?: CreatedProcess;
  private readonly exited: Promise<Exit>;
  private release!: (e: Exit) => void;
  readonly monitor: MonitorClient;
  /** Set when the monitor holds the stdio (log, attach). */
  capture?: TaskCapture;

  constructor(
    readonly containerId: string,
    readonly execId: string | undefined,
    readonly stateDir: string,
    readonly io: TaskIO,
    private _pid: number,
    init: { status: ProcStatus; created?: CreatedProcess; exit?: Exit },
    private readonly hooks: ProcHooks,
    private readonly log: Logger,
  ) {
    this._status = init.status;
    this.created = init.created;
    this.monitor = init.created?.monitor ?? new MonitorClient(stateDir, this.what);
    this.exited = new Promise((resolve) => (this.release = resolve));
    if (init.exit) this.finish(init.exit, false);
  }

  get id(): string {
    return this.execId ?? this.containerId;
  }
  get what(): string {
    return this.execId ? `exec ${this.execId} in task ${this.containerId}` : `task ${this.containerId}`;
  }
  get pid(): number {
    return this._pid;
  }
  get status(): ProcStatus {
    return this._status;
  }
  get exit(): Exit | undefined {
    return this._exit;
  }

  view(): ProcessView {
    return { containerId: this.containerId, id: this.id, execId: this.execId, pid: this._pid, status: this._status, io: this.io, exit: this._exit };
  }

  async start(signal: AbortSignal): Promise<number> {
    if (this._status !== 'created' || !this.created) throw failedPrecondition(`${this.what}: cannot start a ${this._status} process`);
    const c = this.created;
    this.created = undefined;
    let exited: Promise<ExitStatus | undefined>;
    try {
      const started = await c.start();
      this._pid = started.pid;
      exited = started.exited;
    } catch (e) {
      // The helper failed after `start` (e.g. exec failed): the process is gone.
      this.finish({ pid: this._pid, exitStatus: 255, exitedAt: new Date(), oomKilled: false }, true);
      throw e;
    }
    this._status = 'running';
    // The exit comes on the helper's sync connection; only if that ends without it, ask the monitor.
    exited.then((e) => {
      if (signal.aborted) return; // shutting down: a restarted daemon reports this exit (as with watch())
      if (e) this.finish(toExit(e), true);
      else this.watch(signal);
    });
    return this._pid;
  }

  /** Follows a running process (after a daemon restart, or when the sync connection was lost). */
  watch(signal: AbortSignal): void {
    this.monitor.wait({ signal }).then(
      (e) => this.finish(toExit(e), true),
      async (err) => {
        if (isCanceled(err) || signal.aborted) return;
        const exit = await this.monitor.readExit().catch(() => undefined);
        if (!exit) this.log.warn('monitor lost without an exit status', { id: this.id, err: err as Error });
        this.finish(exit ? toExit(exit) : { pid: this._pid, exitStatus: 255, exitedAt: new Date(), oomKilled: false }, true);
      },
    );
  }

  /** Records the exit once; `publish` = run the hook (events). */
  finish(exit: Exit, publish: boolean): void {
    if (this._exit) return;
    this._exit = exit;
    this._status = 'stopped';
    if (publish) {
      try {
        this.hooks.onExit(this, exit);
      } catch (e) {
        this.log.error('exit hook failed', { id: this.id, err: e as Error });
      }
    }
    this.release(exit);
  }

  wait(): Promise<Exit> {
    return this.exited;
  }

  setPaused(paused: boolean): void {
    if (this._status === 'running' || this._status === 'paused') this._status = paused ? 'paused' : 'running';
  }

  /** Kill: a created process is aborted (the helper kills it); a stopped one is NotFound. */
  async kill(signal: number, all: boolean): Promise<void> {
    if (this._status === 'stopped') throw notFound(`${this.what}: process already finished`);
    if (this._status === 'created' && this.created) {
      await this.abort(signal);
      return;
    }
    await this.monitor.kill(signal, { all });
  }

  /** Gives up a created process (Delete of a CREATED task, Kill before Start). */
  async abort(signal = 9): Promise<void> {
    const c = this.created;
    if (!c) return;
    this.created = undefined;
    await c.abort();
    this.finish({ pid: this._pid, exitStatus: 128 + signal, exitedAt: new Date(), oomKilled: false }, true);
  }
}
