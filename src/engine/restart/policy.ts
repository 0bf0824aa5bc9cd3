/**
 * Docker's restart policies (`--restart no|on-failure[:N]|always|unless-stopped`) and its restart
 * manager (moby's restartmanager): which exits restart a container, after what delay, and which
 * containers berthd starts when it starts itself. Pure: the supervisor (supervisor.ts) owns the
 * timers, the engine owns the records.
 */
import { invalidArgument } from '../../core/errors';

export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure only: restarts before giving up; 0 = no limit. */
  maximumRetryCount: number;
}

export const NO_RESTART: RestartPolicy = { name: 'no', maximumRetryCount: 0 };

/** The first delay; each restart doubles it up to MAX_BACKOFF_MS. */
export const INITIAL_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 60_000;
/** A run at least this long starts the backoff over. */
export const BACKOFF_RESET_AFTER_MS = 10_000;

export const RESTART_POLICY_NAMES: readonly RestartPolicyName[] = ['no', 'always', 'on-failure', 'unless-stopped'];

/**
 * The API form (HostConfig.RestartPolicy {Name, MaximumRetryCount}) with the daemon's checks and
 * messages. An empty name is `no` (Docker before 25 stored it so).
 */
export function validateRestartPolicy(p: { name?: string; maximumRetryCount?: number }): RestartPolicy {
  const name = p.name ?? '';
  const count = p.maximumRetryCount ?? 0;
  if (!Number.isInteger(count)) throw invalidArgument('invalid restart policy format: maximum retry count must be an integer');
  switch (name) {
    case '':
      return NO_RESTART;
    case 'no':
    case 'always':
    case 'unless-stopped':
      if (count !== 0) {
        const neg = count < 0 ? ' and cannot be negative' : '';
        throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'${neg}`);
      }
      return { name, maximumRetryCount: 0 };
    case 'on-failure':
      if (count < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
      return { name, maximumRetryCount: count };
    default:
      throw invalidArgument(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}

/** The CLI form, `--restart on-failure:3` (docker's opts.ParseRestartPolicy, then the daemon's checks). */
export function parseRestartPolicy(s: string): RestartPolicy {
  if (s === '') return NO_RESTART;
  const colon = s.indexOf(':');
  const name = colon < 0 ? s : s.slice(0, colon);
  const count = colon < 0 ? '' : s.slice(colon + 1);
  if (colon >= 0 && name === '') throw invalidArgument('invalid restart policy format: no policy provided before colon');
  if (count !== '' && !/^[+-]?\d+$/.test(count)) throw invalidArgument('invalid restart policy format: maximum retry count must be an integer');
  return validateRestartPolicy({ name, maximumRetryCount: count === '' ? 0 : Number(count) });
}

/** `on-failure:3`, `always`: the inverse of parseRestartPolicy. */
export function formatRestartPolicy(p: RestartPolicy): string {
  return p.name === 'on-failure' && p.maximumRetryCount > 0 ? `${p.name}:${p.maximumRetryCount}` : p.name;
}

/** `--rm` with a policy other than `no` (the daemon's message; the docker CLI says "Conflicting options: --restart and --rm"). */
export function checkAutoRemove(p: RestartPolicy, autoRemove: boolean): void {
  if (autoRemove && p.name !== 'no') throw invalidArgument(`can't create 'AutoRemove' container with restart policy`);
}

/** What the container did, as the restart decision sees it. */
export interface ExitFacts {
  exitCode: number;
  /** stop, or kill (Docker's HasBeenManuallyStopped), since the last explicit start. */
  manuallyStopped: boolean;
  /** How long it ran (exit time minus start time). */
  ranForMs: number;
}

export type RestartDecision = { restart: false } | { restart: true; delayMs: number; restartCount: number };

/**
 * The restart state of one container between explicit starts (moby's restartManager). It lives
 * in memory: a berthd start begins a fresh one (from the stored restart count), which is how an
 * explicit stop cancels `always` only until the next daemon start.
 */
export class RestartManager {
  private timeoutMs = 0;
  private canceled = false;

  constructor(
    private current: RestartPolicy,
    private count: number,
  ) {}

  get policy(): RestartPolicy {
    return this.current;
  }

  /** `update --restart`: the count, the backoff and a cancel stay (Docker's SetPolicy). */
  setPolicy(p: RestartPolicy): void {
    this.current = p;
  }

  get restartCount(): number {
    return this.count;
  }

  get isCanceled(): boolean {
    return this.canceled;
  }

  /** An explicit stop (or kill with SIGKILL or the stop signal): no restart until the next explicit start or daemon start. */
  cancel(): void {
    this.canceled = true;
  }

  /**
   * Whether this exit restarts the container, and after how long. The backoff grows on every
   * exit of a restarting policy (restart or not, as Docker's does), and starts over after a run
   * of 10 s or more.
   */
  decide(f: ExitFacts): RestartDecision {
    if (this.current.name === 'no' || this.canceled) return { restart: false };
    if (f.ranForMs >= BACKOFF_RESET_AFTER_MS) this.timeoutMs = 0;
    this.timeoutMs = this.timeoutMs === 0 ? INITIAL_BACKOFF_MS : Math.min(this.timeoutMs * 2, MAX_BACKOFF_MS);
    if (!wouldRestart(this.current, f, this.count)) return { restart: false };
    this.count++;
    return { restart: true, delayMs: this.timeoutMs, restartCount: this.count };
  }
}

function wouldRestart(p: RestartPolicy, f: Pick<ExitFacts, 'exitCode' | 'manuallyStopped'>, count: number): boolean {
  switch (p.name) {
    case 'always':
      return true;
    case 'unless-stopped':
      return !f.manuallyStopped;
    case 'on-failure':
      return f.exitCode !== 0 && (p.maximumRetryCount === 0 || count < p.maximumRetryCount);
    case 'no':
      return false;
  }
}

/** A stored container as berthd finds it when it starts. */
export interface BootFacts {
  policy: RestartPolicy;
  /** Not running (exited, or found dead: its task did not survive a reboot or a crash). */
  stopped: boolean;
  /** Started at least once (a container only created is never started by berthd). */
  startedBefore: boolean;
  exitCode: number;
  manuallyStopped: boolean;
  restartCount: number;
}

/**
 * Docker's restore: a stopped container comes back when berthd starts if its policy would
 * restart it now, with a fresh manager: `always` even after an explicit stop, `unless-stopped`
 * only if it was not stopped on purpose, `on-failure` after a failure with retries left. No
 * backoff: it starts at once.
 */
export function startsOnBoot(b: BootFacts): boolean {
  return b.stopped && b.startedBefore && wouldRestart(b.policy, b, b.restartCount);
}
