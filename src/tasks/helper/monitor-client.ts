/**
 * Talks to a running berth-helper monitor through `<stateDir>/monitor.sock` (line protocol in
 * native/helper/PROTOCOL.md). Every request uses its own short connection, so a client can be
 * created by a fresh daemon after a restart. A dead monitor fails fast (ENOENT/ECONNREFUSED);
 * the exit status survives it in `<stateDir>/exit.json`.
 */
import { readFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { constants } from 'node:os';
import { z } from 'zod';
import { canceled, deadlineExceeded, errnoCode, failedPrecondition, internal, notFound, unavailable } from '../../core/errors';
import { errnoToError } from './errno';
import { EXIT_FILE, MONITOR_SOCKET } from './paths';

export const ExitStatusSchema = z.object({
  pid: z.number().int(),
  exit_status: z.number().int(),
  exited_at_ns: z.string().regex(/^\d+$/),
  oom_killed: z.boolean(),
});

export interface ExitStatus {
  pid: number;
  /** Exit code, or 128 + signal number when killed by a signal. */
  exitStatus: number;
  exitedAt: Date;
  exitedAtNs: bigint;
  oomKilled: boolean;
}

export type ProcessStatus = 'running' | 'paused' | 'stopped';
export interface ProcessState {
  pid: number;
  status: ProcessStatus;
  exit?: ExitStatus;
}

export interface CgroupStats {
  memoryUsage: number;
  memoryLimit: number;
  memoryMaxUsage: number;
  pidsCurrent: number;
  pidsLimit: number;
  cpuUsageNs: number;
  oomKills: number;
}

const ResponseSchema = z.looseObject({ ok: z.boolean(), errno: z.number().int().optional(), msg: z.string().optional() });
const StateResponseSchema = z.looseObject({ status: z.enum(['running', 'paused', 'stopped']), pid: z.number().int() });
const StatsSchema = z.object({
  memory_usage: z.number(),
  memory_limit: z.number(),
  memory_max_usage: z.number(),
  pids_current: z.number(),
  pids_limit: z.number(),
  cpu_usage_ns: z.number(),
  oom_kills: z.number(),
});

/** An exit record as the monitor writes it (a `wait` answer, exit.json); throws ZodError if malformed. */
export function toExit(raw: unknown): ExitStatus {
  const e = ExitStatusSchema.parse(raw);
  const ns = BigInt(e.exited_at_ns);
  return { pid: e.pid, exitStatus: e.exit_status, exitedAtNs: ns, exitedAt: new Date(Number(ns / 1_000_000n)), oomKilled: e.oom_killed };
}

function isGone(e: unknown): boolean {
  const c = errnoCode(e);
  return c === 'ENOENT' || c === 'ECONNREFUSED' || c === 'ENOTDIR' || c === 'ECONNRESET' || c === 'EPIPE';
}

export interface RequestOptions {
  /** Default 10 s for ordinary requests; `wait` has none unless given. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class MonitorClient {
  constructor(
    readonly stateDir: string,
    readonly what = `task ${stateDir}`,
  ) {}

  get socketPath(): string {
    return join(this.stateDir, MONITOR_SOCKET);
  }

  /** The persisted exit status, or undefined while none was written. */
  async readExit(): Promise<ExitStatus | undefined> {
    try {
      return toExit(JSON.parse(await readFile(join(this.stateDir, EXIT_FILE), 'utf8')));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw internal(`${this.what}: bad exit file`, { cause: e });
    }
  }

  async state(opts?: RequestOptions): Promise<ProcessState> {
    let r: Record<string, unknown>;
    try {
      r = await this.request('state', opts);
    } catch (e) {
      const exit = await this.orExit(e);
      return { pid: exit.pid, status: 'stopped', exit };
    }
    const s = StateResponseSchema.parse(r);
    return s.status === 'stopped' ? { pid: s.pid, status: 'stopped', exit: toExit(r) } : { pid: s.pid, status: s.status };
  }

  /** Resolves once the process has exited (immediately if it already has). */
  async wait(opts?: RequestOptions): Promise<ExitStatus> {
    let r: Record<string, unknown>;
    try {
      r = await this.request('wait', { timeoutMs: 0, ...opts });
    } catch (e) {
      return this.orExit(e);
    }
    return toExit(r);
  }

  async kill(signal: number | NodeJS.Signals = 'SIGTERM', opts: RequestOptions & { all?: boolean } = {}): Promise<void> {
    const n = typeof signal === 'number' ? signal : constants.signals[signal];
    if (!Number.isInteger(n) || n < 1 || n > 64) throw internal(`${this.what}: bad signal ${String(signal)}`);
    await this.simple(`kill ${n}${opts.all ? ' all' : ''}`, opts);
  }

  async resize(width: number, height: number, opts?: RequestOptions): Promise<void> {
    await this.simple(`resize ${Math.trunc(width)} ${Math.trunc(height)}`, opts);
  }

  async closeStdin(opts?: RequestOptions): Promise<void> {
    await this.simple('close-stdin', opts);
  }

  async pause(opts?: RequestOptions): Promise<void> {
    await this.simple('pause', opts);
  }

  async resume(opts?: RequestOptions): Promise<void> {
    await this.simple('resume', opts);
  }

  async stats(opts?: RequestOptions): Promise<CgroupStats> {
    const r = await this.simple('stats', opts);
    const s = StatsSchema.parse(r.stats);
    return {
      memoryUsage: s.memory_usage,
      memoryLimit: s.memory_limit,
      memoryMaxUsage: s.memory_max_usage,
      pidsCurrent: s.pids_current,
      pidsLimit: s.pids_limit,
      cpuUsageNs: s.cpu_usage_ns,
      oomKills: s.oom_kills,
    };
  }

  /**
   * Settles once the monitor process is gone (or after `timeoutMs`): the connection it accepts is
   * closed when it exits, a socket it removed refuses. Its last acts after answering the waiters
   * (removing the cgroup) are then done.
   */
  gone(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve) => {
      const sock = createConnection(this.socketPath);
      const done = () => {
        clearTimeout(timer);
        sock.destroy();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      sock.on('error', done);
      sock.on('close', done);
      sock.resume();
    });
  }

  /** Requests that make no sense once the monitor is gone: a finished process is NotFound. */
  private async simple(line: string, opts?: RequestOptions): Promise<Record<string, unknown>> {
    try {
      return await this.request(line, opts);
    } catch (e) {
      if (!isGone(e)) throw e;
      if (await this.readExit()) throw notFound(`${this.what}: process already finished`, { cause: e });
      throw unavailable(`${this.what}: monitor not reachable`, { cause: e });
    }
  }

  private async orExit(e: unknown): Promise<ExitStatus> {
    if (!isGone(e) && !(e instanceof MonitorClosedError)) throw e;
    const exit = await this.readExit();
    if (exit) return exit;
    throw unavailable(`${this.what}: monitor not reachable and no exit status recorded`, { cause: e });
  }

  private request(line: string, opts: RequestOptions = {}): Promise<Record<string, unknown>> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      let buf = '';
      let done = false;
      const sock: Socket = createConnection(this.socketPath);
      const finish = (err: unknown, value?: Record<string, unknown>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        sock.destroy();
        if (err) reject(err);
        else resolve(value!);
      };
      const onAbort = () => finish(canceled(`${this.what}: ${line.split(' ')[0]} canceled`));
      const timer = timeoutMs > 0 ? setTimeout(() => finish(deadlineExceeded(`${this.what}: ${line} timed out`)), timeoutMs) : undefined;
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(`${line}\n`));
      sock.on('error', (e) => finish(e));
      sock.on('close', () => finish(new MonitorClosedError(`${this.what}: monitor closed the connection`)));
      sock.on('data', (chunk: string) => {
        buf += chunk;
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        let parsed: z.infer<typeof ResponseSchema>;
        try {
          parsed = ResponseSchema.parse(JSON.parse(buf.slice(0, nl)));
        } catch (e) {
          return finish(internal(`${this.what}: bad monitor response`, { cause: e }));
        }
        if (parsed.ok) return finish(undefined, parsed);
        if (parsed.errno === undefined) return finish(failedPrecondition(`${this.what}: ${parsed.msg ?? 'failed'}`));
        finish(errnoToError(parsed.errno, this.what, parsed.msg ?? 'failed'));
      });
    });
  }
}

class MonitorClosedError extends Error {}

/**
 * Reconnects to a monitor (e.g. after a daemon restart): resolves with a client once the
 * monitor answered `state`, or once its exit status is on disk. Fails fast otherwise.
 */
export async function connectMonitor(stateDir: string, opts?: RequestOptions & { what?: string }): Promise<{ client: MonitorClient; state: ProcessState }> {
  const client = new MonitorClient(stateDir, opts?.what);
  const state = await client.state({ timeoutMs: opts?.timeoutMs ?? 2000, signal: opts?.signal });
  return { client, state };
}
