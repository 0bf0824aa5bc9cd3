/**
 * Runs restart policies for the engine: one RestartManager per container (policy.ts), the backoff
 * timers on a Clock, and the two hooks through which it acts on containers. The engine calls it
 * at each event of a container's life:
 *
 *   exited(…)      an exit was recorded: restart after the backoff, or not (the engine then
 *                  records `restarting` with the new count, or `exited`)
 *   started(…)     an explicit start (`start`, `restart`): a fresh manager, count 0
 *   stopping(…)    `stop`, `kill` with SIGKILL or the stop signal: cancels a pending restart and
 *                  any further one until the next explicit start or berthd start
 *   removed(…)     forgets the container
 *
 * and at its own start, startsOnBoot (policy.ts) says which stored containers to start again.
 */
import { type Clock, systemClock } from '../../core/clock';
import { canceled } from '../../core/errors';
import { type Logger, nullLogger } from '../../core/logger';
import { type ExitFacts, type RestartDecision, RestartManager, type RestartPolicy } from './policy';

export interface RestartHooks {
  /** Starts the container again once its backoff is over. */
  restart(ns: string, id: string): Promise<void>;
  /**
   * A restart that was decided will not happen: canceled by a stop while it waited, or its start
   * failed. The container is exited (Docker's SetStopped after the restart manager's wait).
   */
  gaveUp(ns: string, id: string, reason: Error): Promise<void> | void;
}

interface Pending {
  cancelTimer: () => void;
}

const key = (ns: string, id: string) => `${ns}/${id}`;

export class RestartSupervisor {
  private readonly managers = new Map<string, RestartManager>();
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly hooks: RestartHooks,
    private readonly clock: Clock = systemClock,
    private readonly log: Logger = nullLogger,
  ) {}

  /** The container's manager, made from its stored policy and count when there is none yet (after a berthd start). */
  private manager(ns: string, id: string, policy: RestartPolicy, restartCount: number): RestartManager {
    const k = key(ns, id);
    let m = this.managers.get(k);
    if (!m) this.managers.set(k, (m = new RestartManager(policy, restartCount)));
    else m.setPolicy(policy);
    return m;
  }

  /**
   * An exit of a container that was running. `restartCount` is the stored count (used when
   * berthd has no manager for it yet). When the decision is to restart, the restart is scheduled
   * and the caller records the container as `restarting` with decision.restartCount.
   */
  exited(ns: string, id: string, policy: RestartPolicy, restartCount: number, facts: ExitFacts): RestartDecision {
    if (this.closed) return { restart: false };
    const d = this.manager(ns, id, policy, restartCount).decide(facts);
    if (d.restart) this.schedule(ns, id, d.delayMs);
    return d;
  }

  private schedule(ns: string, id: string, delayMs: number): void {
    const k = key(ns, id);
    this.pending.get(k)?.cancelTimer();
    const cancelTimer = this.clock.setTimer(delayMs, () => {
      if (this.pending.get(k)?.cancelTimer !== cancelTimer) return;
      this.pending.delete(k);
      this.hooks
        .restart(ns, id)
        .catch((e: Error) => {
          this.log.warn('restart: starting the container again failed', { ns, id, err: e });
          return this.hooks.gaveUp(ns, id, e);
        })
        .catch((e: Error) => this.log.error('restart: recording a failed restart failed', { ns, id, err: e }));
    });
    this.pending.set(k, { cancelTimer });
  }

  /** An explicit start: a fresh manager (count 0, not canceled) and no pending restart. */
  started(ns: string, id: string, policy: RestartPolicy): void {
    this.dropPending(ns, id);
    this.managers.set(key(ns, id), new RestartManager(policy, 0));
  }

  /**
   * An explicit stop (or a kill that ends it): no restart until the next explicit start or
   * berthd start. A restart that was waiting is dropped and reported through gaveUp; returns
   * whether there was one (the container was `restarting`).
   */
  stopping(ns: string, id: string, policy: RestartPolicy, restartCount: number): boolean {
    this.manager(ns, id, policy, restartCount).cancel();
    const had = this.dropPending(ns, id);
    if (had)
      void Promise.resolve(this.hooks.gaveUp(ns, id, canceled(`container ${id}: restart canceled`))).catch((e: Error) =>
        this.log.error('restart: recording a canceled restart failed', { ns, id, err: e }),
      );
    return had;
  }

  removed(ns: string, id: string): void {
    this.dropPending(ns, id);
    this.managers.delete(key(ns, id));
  }

  /** A restart is waiting out its backoff. */
  isPending(ns: string, id: string): boolean {
    return this.pending.has(key(ns, id));
  }

  restartCount(ns: string, id: string): number | undefined {
    return this.managers.get(key(ns, id))?.restartCount;
  }

  private dropPending(ns: string, id: string): boolean {
    const p = this.pending.get(key(ns, id));
    if (!p) return false;
    p.cancelTimer();
    this.pending.delete(key(ns, id));
    return true;
  }

  /**
   * berthd is stopping: timers are dropped without a word. The containers stay `restarting` in
   * their records, and the next berthd's boot (startsOnBoot) starts them.
   */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.cancelTimer();
    this.pending.clear();
  }
}
