/**
 * Docker's container state machine on berth's tasks:
 *
 *   created ──start──▶ running ⇄ paused (pause/unpause)
 *      ▲                 │ exit (die; stop = signal, wait -t, SIGKILL)
 *      │ start failed    ▼
 *      └──────────── exited ──start──▶ running …      any ──rm──▶ removing ──▶ (gone)
 *
 * A start creates a task whose monitor holds the stdio (the json-file log, attachers); when the
 * process exits the exit is recorded, the task deleted and the waiters released, in that order.
 * Then the restart policy decides (restart/): `restarting` until its backoff is over, or `exited`.
 * Volumes are mounted (a mounted local volume on the host) before a start and unmounted after
 * the exit; `rm` gives them back, `rm -v` removes the anonymous ones.
 * Start, the exit handling and removal of one container run one at a time (`serial`); stop and
 * kill do not wait for that lock, so `kill` works while a `stop` waits out its timeout.
 */
import { background, type Ctx } from '../core/context';
import { mountVolumes, unmountVolumes } from './mounts/prepare';
import { RestartSupervisor } from './restart/supervisor';
import { parseSize } from './units';
import { canceled, conflict, errorKind, internal, isNotFound, notFound } from '../core/errors';
import type { Exit } from '../tasks';
import { DEFAULT_STOP_TIMEOUT_S } from './config';
import { discardContainer } from './create';
import { attachNetwork, detachNetwork } from './container-network';
import type { EngineDeps } from './deps';
import type { EngineEvents } from './events';
import type { EngineRecord } from './record';
import type { EngineSession } from './session';
import type { StopOptions, WaitCondition, WaitResult } from './types';
import { parseSignal } from './units';

const SIGKILL = 9;
/** How long stop waits after SIGKILL before it reports the container as stuck. */
const KILL_GRACE_MS = 30_000;

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

interface Live {
  chain: Promise<unknown>;
  /** The current run, from start until its exit is recorded. */
  run?: Deferred<WaitResult>;
  /** `next-exit` waiters before a run started. */
  nextExit: Array<Deferred<WaitResult>>;
  removed: Deferred<WaitResult>;
  /** Attach sessions made before start: connected when it starts. */
  pending: Array<{ session: EngineSession; streams: Array<'stdin' | 'stdout' | 'stderr'> }>;
}

/** What the restart policy sees of an exit. */
function facts(r: EngineRecord, exit: Exit) {
  const ranForMs = r.state.startedAt ? Math.max(0, exit.exitedAt.getTime() - r.state.startedAt.getTime()) : 0;
  return { exitCode: exit.exitStatus, manuallyStopped: r.state.manuallyStopped, ranForMs };
}

const isRunning = (r: EngineRecord) => r.state.status === 'running' || r.state.status === 'paused' || r.state.status === 'restarting';

/** `explicit`: a user's start (or berthd's at boot), which starts the restart count over. */
export interface StartOptions {
  explicit: boolean;
}

export class Lifecycle {
  private readonly live = new Map<string, Live>();
  readonly restarts: RestartSupervisor;

  constructor(
    private readonly d: EngineDeps,
    private readonly events: EngineEvents,
  ) {
    this.restarts = new RestartSupervisor(
      {
        restart: (ns, id) => this.start(background(ns, { log: d.log }), id, { explicit: false }),
        gaveUp: (ns, id) => this.settleRestart(ns, id),
      },
      d.clock,
      d.log,
    );
  }

  private entry(ns: string, id: string): Live {
    const k = `${ns}/${id}`;
    let l = this.live.get(k);
    if (!l) this.live.set(k, (l = { chain: Promise.resolve(), nextExit: [], removed: deferred(), pending: [] }));
    return l;
  }

  /** One transition at a time per container. */
  serial<T>(ns: string, id: string, fn: () => Promise<T>): Promise<T> {
    const l = this.entry(ns, id);
    const run = l.chain.then(fn, fn);
    l.chain = run.catch(() => undefined);
    return run;
  }

  addPending(ns: string, id: string, session: EngineSession, streams: Array<'stdin' | 'stdout' | 'stderr'>): void {
    this.entry(ns, id).pending.push({ session, streams });
  }

  async start(ctx: Ctx, id: string, o: StartOptions = { explicit: true }): Promise<void> {
    await this.serial(ctx.ns, id, async () => {
      let r = await this.d.records.get(ctx, id);
      if (!r || r.phase !== 'ready') throw notFound(`No such container: ${id}`);
      // Docker: 304, already started (a container waiting out its restart backoff counts as running).
      if (r.state.status === 'running' || (o.explicit && r.state.status === 'restarting')) return;
      if (!o.explicit && r.state.status !== 'restarting') return; // stopped or removed meanwhile
      if (r.state.status === 'paused') throw conflict(`cannot start a paused container, try unpause instead`);
      if (r.state.status === 'removing' || r.state.status === 'dead') throw conflict(`container ${id}: cannot start a ${r.state.status} container`);
      if (o.explicit) {
        this.restarts.started(ctx.ns, id, r.hostConfig.restartPolicy);
        const reset = r.state.restartCount !== 0 || r.state.manuallyStopped; // a new container's are 0 and false: nothing to write
        if (reset) r = await this.d.records.update(ctx, id, (x) => void (x.state = { ...x.state, restartCount: 0, manuallyStopped: false }));
      }
      await this.dropTask(ctx, id);
      const l = this.entry(ctx.ns, id);
      const pending = l.pending.splice(0);
      try {
        const c = r.config;
        await mountVolumes(ctx, this.d.volumes, id, r.mounts, (v) => parseSize(v, 'tmpfs-size'));
        // The network before the task: the task joins the namespace it pins (and its /etc files are written).
        await attachNetwork(this.d, ctx, r);
        await this.d.tasks.create(ctx, {
          containerId: id,
          rootfs: [],
          io: { stdin: '', stdout: '', stderr: '', terminal: c.tty },
          capture: { stdinOpen: c.openStdin, log: { path: r.logPath, maxSize: r.hostConfig.logConfig.maxSize, maxFiles: r.hostConfig.logConfig.maxFile } },
        });
        // Attachers that were waiting for the start connect first, so they miss no output.
        for (const p of pending) {
          try {
            const a = this.d.tasks.attach(ctx, id, undefined, p.streams);
            await a.requested;
            void a.session.then(
              (s) => p.session.bind(s),
              (e) => p.session.fail(e),
            );
          } catch (e) {
            p.session.fail(e);
          }
        }
        const startedAt = new Date(); // before the exec: a quick process may finish before start returns
        const { pid } = await this.d.tasks.start(ctx, id);
        l.run = deferred();
        await this.d.records.update(ctx, id, (x) => {
          x.state = { ...x.state, status: 'running', pid, exitCode: 0, error: '', oomKilled: false, startedAt, finishedAt: undefined };
        });
        this.events.publish(ctx.ns, 'start', r);
        this.watch(ctx.ns, id);
      } catch (e) {
        for (const p of pending) p.session.fail(e);
        await this.dropTask(ctx, id).catch(() => undefined);
        await detachNetwork(this.d, ctx.ns, id);
        await unmountVolumes(ctx, this.d.volumes, id, r.mounts).catch(() => undefined);
        // Docker keeps a container whose start failed as created, with the reason and 127/126.
        const msg = (e as Error).message;
        const code = /not found|no such file/i.test(msg) ? 127 : /permission denied/i.test(msg) ? 126 : 128;
        await this.d.records
          .update(ctx, id, (x) => {
            x.state = { ...x.state, error: msg, exitCode: code };
          })
          .catch(() => undefined);
        throw e;
      }
    });
  }

  /** Follows the running task until it exits (after start, and after a berthd restart). */
  watch(ns: string, id: string): void {
    const ctx = background(ns, { log: this.d.log, signal: this.d.tasks.signal });
    const l = this.entry(ns, id);
    l.run ??= deferred();
    this.d.tasks.wait(ctx, id).then(
      (exit) => this.serial(ns, id, () => this.onExit(ns, id, exit)),
      (e) => {
        if (errorKind(e) === 'Canceled') return; // berthd is stopping: the next one picks it up
        this.d.log.error('engine: lost a container task', { ns, id, err: e as Error });
        void this.serial(ns, id, () =>
          this.onExit(ns, id, { pid: 0, exitStatus: 255, exitedAt: new Date(), oomKilled: false }, `task lost: ${(e as Error).message}`),
        );
      },
    );
  }

  /**
   * Records an exit, deletes the task, tells the waiters; then the restart policy (not while
   * berthd restores: its boot decides then), else `--rm` containers go.
   */
  async onExit(ns: string, id: string, exit: Exit, error = '', o: { restoring?: boolean } = {}): Promise<void> {
    const ctx = background(ns, { log: this.d.log });
    // Docker releases a container's network when it stops: address, veth, ports, rules. Every
    // exit releases it (a restart makes it again), so the teardown starts now, beside recording
    // the exit and deleting the task. An exit is told once it is done; a --rm container's exit is
    // told first and its removal (below) waits for it.
    const network = detachNetwork(this.d, ns, id);
    let r: EngineRecord | undefined;
    let restart = false;
    try {
      const cur = await this.d.records.get(ctx, id);
      const d =
        cur?.phase === 'ready' && !o.restoring
          ? this.restarts.exited(ns, id, cur.hostConfig.restartPolicy, cur.state.restartCount, facts(cur, exit))
          : undefined;
      restart = d?.restart ?? false;
      r = await this.d.records.update(ctx, id, (x) => {
        if (x.phase === 'removing') return;
        x.state = {
          ...x.state,
          status: restart ? 'restarting' : 'exited',
          pid: 0,
          exitCode: exit.exitStatus,
          oomKilled: exit.oomKilled,
          error,
          finishedAt: exit.exitedAt,
        };
        if (d?.restart) x.state.restartCount = d.restartCount;
      });
    } catch (e) {
      if (!isNotFound(e)) {
        await network;
        throw e;
      }
    }
    await this.dropTask(ctx, id).catch((e) => this.d.log.warn('engine: deleting an exited task failed', { ns, id, err: e as Error }));
    const autoRemove = !restart && r?.hostConfig.autoRemove === true && r.phase === 'ready';
    if (!autoRemove) await network;
    if (r)
      await unmountVolumes(ctx, this.d.volumes, id, r.mounts).catch((e) => this.d.log.warn('engine: unmounting volumes failed', { ns, id, err: e as Error }));
    const l = this.entry(ns, id);
    const result: WaitResult = { exitCode: exit.exitStatus, ...(error ? { error } : {}) };
    if (r) {
      if (exit.oomKilled) this.events.publish(ns, 'oom', r);
      this.events.publish(ns, 'die', r, { exitCode: String(exit.exitStatus) });
    }
    l.run?.resolve(result);
    l.run = undefined;
    for (const w of l.nextExit.splice(0)) w.resolve(result);
    if (autoRemove)
      await this.removeNow(ctx, r!, false, network).catch(async (e) => {
        this.d.log.warn('engine: --rm removal failed', { ns, id, err: e as Error });
        await network; // then again, one at a time: released even so (the removal resumes at berthd's next start)
        await detachNetwork(this.d, ns, id);
      });
  }

  /** A restart that was decided will not happen (canceled by a stop, or its start failed): exited. */
  private settleRestart(ns: string, id: string): Promise<void> {
    const ctx = background(ns, { log: this.d.log });
    return this.serial(ns, id, async () => {
      await this.d.records.update(ctx, id, (x) => {
        if (x.state.status === 'restarting') x.state = { ...x.state, status: 'exited' };
      });
    }).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  }

  /** Records a stop or kill on purpose (Docker's HasBeenManuallyStopped). */
  private async stoppedOnPurpose(ctx: Ctx, r: EngineRecord): Promise<void> {
    await this.d.records
      .update(ctx, r.id, (x) => void (x.state = { ...x.state, manuallyStopped: true }))
      .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  }

  /** Deletes the container's task, if there is one (killing a leftover that still runs). */
  private async dropTask(ctx: Ctx, id: string): Promise<void> {
    let status: string;
    try {
      status = this.d.tasks.get(ctx, id).status;
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (status === 'running' || status === 'paused') {
      await this.d.tasks.kill(ctx, id, undefined, SIGKILL, true).catch(() => undefined);
      await this.d.tasks.wait(ctx, id);
    }
    await this.d.tasks.delete(ctx, id).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  }

  private async signal(ctx: Ctx, r: EngineRecord, sig: number): Promise<void> {
    try {
      await this.d.tasks.kill(ctx, r.id, undefined, sig, false);
    } catch (e) {
      if (!isNotFound(e)) throw e; // exited meanwhile
    }
    this.events.publish(ctx.ns, 'kill', r, { signal: String(sig) });
  }

  async kill(ctx: Ctx, r: EngineRecord, signal: string | number = 'SIGKILL'): Promise<void> {
    const sig = parseSignal(signal);
    if (!isRunning(r)) throw conflict(`container ${r.id} is not running`);
    await this.stoppedOnPurpose(ctx, r);
    // The signals that end it end its restarts too (Docker's ExitOnNext); a container waiting
    // out its backoff gets no signal, only that.
    if (sig === SIGKILL || sig === parseSignal(r.config.stopSignal || 'SIGTERM'))
      this.restarts.stopping(ctx.ns, r.id, r.hostConfig.restartPolicy, r.state.restartCount);
    if (r.state.status === 'restarting') return;
    await this.signal(ctx, r, sig);
  }

  /** StopSignal, `timeout` seconds, SIGKILL; a container that is not running is left as it is. */
  async stop(ctx: Ctx, r: EngineRecord, o: StopOptions = {}): Promise<void> {
    if (!isRunning(r)) return;
    await this.stoppedOnPurpose(ctx, r);
    this.restarts.stopping(ctx.ns, r.id, r.hostConfig.restartPolicy, r.state.restartCount);
    const run = this.entry(ctx.ns, r.id).run;
    if (!run) return this.settleRestart(ctx.ns, r.id); // it was waiting out a restart backoff: canceled, now exited
    const sig = parseSignal(o.signal || r.config.stopSignal || 'SIGTERM');
    const timeout = o.timeout ?? r.config.stopTimeout ?? DEFAULT_STOP_TIMEOUT_S;
    await this.signal(ctx, r, sig);
    // A frozen process gets no signal: thaw it (Docker does the same).
    if (r.state.status === 'paused' && sig !== SIGKILL) await this.d.tasks.resume(ctx, r.id).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timedOut =
      timeout < 0 ? new Promise<never>(() => undefined) : new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), timeout * 1000)));
    const first = await Promise.race([run.promise, timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') {
      await this.signal(ctx, r, SIGKILL);
      const done = await Promise.race([run.promise, new Promise<'stuck'>((res) => (timer = setTimeout(() => res('stuck'), KILL_GRACE_MS)))]);
      clearTimeout(timer);
      if (done === 'stuck') throw internal(`container ${r.id}: did not exit ${KILL_GRACE_MS / 1000}s after SIGKILL`);
    }
    // An exit that raced the stop may have scheduled a restart the stop then canceled: settled
    // here (after that exit's handling), so the container is `exited` when stop returns.
    await this.settleRestart(ctx.ns, r.id);
    this.events.publish(ctx.ns, 'stop', r);
  }

  async pause(ctx: Ctx, r: EngineRecord, pause: boolean): Promise<void> {
    await this.serial(ctx.ns, r.id, async () => {
      const cur = (await this.d.records.get(ctx, r.id)) ?? r;
      if (!isRunning(cur)) throw conflict(`container ${r.id} is not running`);
      if (pause && cur.state.status === 'paused') throw conflict(`container ${r.id} is already paused`);
      if (!pause && cur.state.status !== 'paused') throw conflict(`container ${r.id} is not paused`);
      if (pause) await this.d.tasks.pause(ctx, r.id);
      else await this.d.tasks.resume(ctx, r.id);
      await this.d.records.update(ctx, r.id, (x) => {
        if (x.state.status === 'running' || x.state.status === 'paused') x.state = { ...x.state, status: pause ? 'paused' : 'running' };
      });
      this.events.publish(ctx.ns, pause ? 'pause' : 'unpause', r);
    });
  }

  async wait(ctx: Ctx, r: EngineRecord, condition: WaitCondition = 'not-running'): Promise<WaitResult> {
    const l = this.entry(ctx.ns, r.id);
    let p: Promise<WaitResult>;
    if (condition === 'removed') p = l.removed.promise;
    else if (condition === 'not-running' && !(isRunning(r) && l.run)) return { exitCode: r.state.exitCode, ...(r.state.error ? { error: r.state.error } : {}) };
    else if (l.run) p = l.run.promise;
    else {
      const w = deferred<WaitResult>();
      l.nextExit.push(w);
      p = w.promise;
    }
    if (!ctx.signal) return p;
    const signal = ctx.signal;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(canceled(`container ${r.id}: wait canceled`));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void p.then((v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      });
    });
  }

  /** `rm` (with `force`, of a running container too): the task, the container, its snapshot, logs and name. */
  async remove(ctx: Ctx, r: EngineRecord, force: boolean, volumes = false): Promise<void> {
    if (r.state.status === 'restarting') {
      if (!force) throw conflict(`cannot remove container "${r.name}": container is restarting: stop the container before removing or force remove`);
      this.restarts.stopping(ctx.ns, r.id, r.hostConfig.restartPolicy, r.state.restartCount);
    } else if (isRunning(r)) {
      if (!force) throw conflict(`cannot remove container "${r.name}": container is running: stop the container before removing or force remove`);
      // As kill -9 does: no restart after this exit (one could start before the removal runs).
      this.restarts.stopping(ctx.ns, r.id, r.hostConfig.restartPolicy, r.state.restartCount);
      const run = this.entry(ctx.ns, r.id).run;
      await this.signal(ctx, r, SIGKILL);
      if (r.state.status === 'paused') await this.d.tasks.resume(ctx, r.id).catch(() => undefined);
      await run?.promise;
    }
    await this.serial(ctx.ns, r.id, async () => {
      const cur = await this.d.records.get(ctx, r.id);
      if (!cur) throw notFound(`No such container: ${r.id}`);
      if (isRunning(cur) && cur.state.status !== 'restarting') throw conflict(`cannot remove container "${r.name}": it was started again meanwhile`);
      await this.removeNow(ctx, cur, volumes);
    });
  }

  /** `network`: its teardown, when the caller started it already (an exit's). */
  private async removeNow(ctx: Ctx, r: EngineRecord, volumes = false, network?: Promise<void>): Promise<void> {
    this.restarts.removed(ctx.ns, r.id);
    await this.d.records.update(ctx, r.id, (x) => ({ ...x, phase: 'removing', state: { ...x.state, status: 'removing' } }));
    const l = this.entry(ctx.ns, r.id);
    for (const p of l.pending.splice(0)) p.session.fail(notFound(`container ${r.id} was removed`));
    await this.dropTask(ctx, r.id);
    // The network's teardown runs beside the rest (it needs neither the record nor the snapshot;
    // a crash in between leaves its sandbox file, which a restarted berthd tears down); the
    // removal is over only when both are.
    network ??= detachNetwork(this.d, ctx.ns, r.id);
    try {
      await this.d.tasks.settled(ctx, r.id); // its cgroup is gone with it
      // Before the record goes (a crash in between repeats it): `rm -v` and `--rm` take the anonymous volumes.
      await this.d.volumes.release(ctx, r.id, { removeAnonymous: volumes || r.hostConfig.autoRemove });
      await discardContainer(this.d, ctx, r);
    } finally {
      await network;
    }
    this.events.publish(ctx.ns, 'destroy', r);
    l.removed.resolve({ exitCode: r.state.exitCode });
    this.live.delete(`${ctx.ns}/${r.id}`);
  }

  /** Finishes a removal a berthd crash interrupted. */
  resumeRemoval(ctx: Ctx, r: EngineRecord): Promise<void> {
    return this.serial(ctx.ns, r.id, () => this.removeNow(ctx, r));
  }
}
