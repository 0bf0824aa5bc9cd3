/**
 * Spawns berth-helper for one container process: the plan goes on fd 3, NDJSON sync messages
 * come back on fd 4 (a socketpair). `createProcess` resolves at `created`; `start()` makes the
 * helper exec and resolves at `started`, after which the helper is the process's monitor,
 * detached from this Node process (own session, no inherited fds beyond 0-4, unref'd).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { internal, invalidArgument } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { nullLogger } from '../../core/logger';
import { errnoToError } from './errno';
import { MonitorClient, toExit, type ExitStatus } from './monitor-client';
import { helperPath } from './paths';
import { discardLaunched, type LaunchedHelper, type Launcher } from './launcher';
import { encodeParsedPlan, isValidatedPlan, LaunchPlanSchema, type LaunchPlan, type LaunchPlanInput } from './plan';

export const SyncMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('created'), pid: z.number().int().positive() }),
  z.object({ type: z.literal('started'), pid: z.number().int().positive() }),
  z.object({ type: z.literal('error'), errno: z.number().int(), stage: z.string(), msg: z.string() }),
]);
export type SyncMessage = z.infer<typeof SyncMessageSchema>;

export interface HelperOptions {
  /** Defaults to native/build/berth-helper under the package root. */
  helperPath?: string;
  log?: Logger;
  /** Fork helpers from this launcher instead of spawning them from Node (launcher.ts). */
  launcher?: Launcher;
  /** A helper already asked of the launcher (so its fork overlaps the caller's own work). */
  prelaunched?: Promise<LaunchedHelper>;
}

export interface CreatedProcess {
  /** Host pid of the container process (waiting for start). */
  readonly pid: number;
  /** Client for the monitor's control socket (usable after start). */
  readonly monitor: MonitorClient;
  /** Helper (monitor) pid. */
  readonly helperPid: number;
  /**
   * Execs the process. `exited` settles with the exit the monitor reports on the sync connection
   * (which it keeps open as a waiter), or with undefined if that connection ends without one
   * (then ask the monitor's socket or exit.json).
   */
  start(): Promise<{ pid: number; exited: Promise<ExitStatus | undefined> }>;
  /** Gives up before start: the helper kills the process and removes its cgroup. */
  abort(): Promise<void>;
}

/**
 * `created` and `started` as SyncMessageSchema would return them, checked by hand: the two
 * messages of every launch, where zod's parse cost ~70 µs each on the Create and Start paths.
 * Anything else (errors included) goes through the schema.
 */
function progressMessage(raw: unknown): SyncMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { type, pid } = raw as { type?: unknown; pid?: unknown };
  if ((type !== 'created' && type !== 'started') || typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { type, pid };
}

/**
 * Reads NDJSON lines (each at most 4 KiB) from the sync socket. After `started` the monitor keeps
 * the connection as a waiter: its next line is the exit (a `wait` answer, no `type`), see `exit`.
 */
class SyncReader {
  private buf = '';
  private readonly queue: SyncMessage[] = [];
  private waiter?: { resolve: (m: SyncMessage | undefined) => void; reject: (e: unknown) => void };
  private ended = false;
  private failure?: unknown;
  private gotExit!: (raw: unknown) => void;
  /** The raw exit record, or undefined once the connection ended without one. */
  readonly exit = new Promise<unknown>((resolve) => (this.gotExit = resolve));

  constructor(
    sock: Socket,
    private readonly what: string,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('end', () => this.finish());
    sock.on('close', () => this.finish());
    sock.on('error', (e) => this.finish(e));
    sock.resume(); // a launched helper's socket was paused after its header
  }

  private onData(chunk: string) {
    this.buf += chunk;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      try {
        const raw: unknown = JSON.parse(line);
        if (typeof raw === 'object' && raw !== null && 'ok' in raw && !('type' in raw)) this.gotExit(raw);
        else this.push(progressMessage(raw) ?? SyncMessageSchema.parse(raw));
      } catch (e) {
        this.finish(internal(`${this.what}: bad sync message from helper`, { cause: e }));
      }
    }
    if (this.buf.length > 4096) this.finish(internal(`${this.what}: sync line longer than 4 KiB`));
  }

  private push(m: SyncMessage) {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(m);
    } else this.queue.push(m);
  }

  private finish(e?: unknown) {
    if (this.ended) return;
    this.ended = true;
    this.gotExit(undefined);
    this.failure = e;
    const w = this.waiter;
    this.waiter = undefined;
    if (w && e) w.reject(e);
    else if (w) w.resolve(undefined);
  }

  next(): Promise<SyncMessage | undefined> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return this.failure ? Promise.reject(this.failure) : Promise.resolve(undefined);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function expect(reader: SyncReader, type: 'created' | 'started', what: string): Promise<number> {
  const m = await reader.next();
  if (m === undefined) throw internal(`${what}: helper exited before ${type}`);
  if (m.type === 'error') throw errnoToError(m.errno, what, `${m.stage}: ${m.msg}`);
  if (m.type !== type) throw internal(`${what}: expected ${type}, got ${m.type}`);
  return m.pid;
}

/** A started helper: fd 3 and fd 4 as seen from berthd, however it was started. */
interface HelperHandle {
  plan: Socket;
  sync: Socket;
  pid: number;
  /** Rejects if the helper could not be started at all. */
  failed: Promise<never>;
  /** Resolves once the helper has exited (after it was told to stop). */
  exited(): Promise<void>;
  /** After `started`: lets go of everything but the sync connection, which no longer holds the event loop. */
  keepSync(): void;
  release(): void;
}

function spawned(path: string, what: string): HelperHandle {
  const child = spawn(path, [], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const failed = new Promise<never>((_, reject) => child.once('error', (e) => reject(internal(`${what}: cannot run helper`, { cause: e }))));
  failed.catch(() => undefined);
  const plan = child.stdio[3] as Socket;
  const sync = child.stdio[4] as Socket;
  return {
    plan,
    sync,
    pid: child.pid ?? -1,
    failed,
    exited: () => exited(child),
    keepSync: () => {
      plan.destroy();
      sync.unref();
      child.unref();
    },
    release: () => {
      plan.destroy();
      sync.destroy();
      child.unref();
    },
  };
}

async function launched(launching: Promise<LaunchedHelper>): Promise<HelperHandle> {
  const l = await launching;
  // The launcher's child is no child of ours: its exit shows as the end of its sync connection
  // (the helper and its container child hold it until they are gone).
  const closed = new Promise<void>((resolve) => l.sync.once('close', () => resolve()));
  return {
    plan: l.plan,
    sync: l.sync,
    pid: l.pid,
    failed: new Promise<never>(() => undefined),
    exited: () => closed,
    keepSync: () => {
      l.plan.destroy();
      l.sync.unref();
    },
    release: () => {
      l.plan.destroy();
      l.sync.destroy();
    },
  };
}

/**
 * Launches the helper and resolves once the process is created (namespaces, cgroup, rootfs ready).
 * The plan is validated here unless it already was (validatePlan, withLaunchParts).
 */
export async function createProcess(input: LaunchPlanInput | LaunchPlan, opts: HelperOptions = {}): Promise<CreatedProcess> {
  let plan: LaunchPlan;
  try {
    if (isValidatedPlan(input)) plan = input;
    else {
      const parsed = LaunchPlanSchema.safeParse(input);
      if (!parsed.success) throw invalidArgument(`launch plan ${String(input.id)}: ${parsed.error.message}`, { cause: parsed.error });
      plan = parsed.data;
    }
    mkdirSync(plan.stateDir, { recursive: true, mode: 0o700 }); // sync: see bundle.ts
  } catch (e) {
    if (opts.prelaunched) discardLaunched(opts.prelaunched);
    throw e;
  }
  const what = `${plan.mode === 'exec' ? 'exec' : 'container'} ${plan.id}`;
  const log = (opts.log ?? nullLogger).child({ id: plan.id });

  const launching = opts.prelaunched ?? opts.launcher?.launch(what);
  const h = launching ? await launched(launching) : spawned(opts.helperPath ?? helperPath(), what);
  const planSock = h.plan;
  const syncSock = h.sync;
  planSock.on('error', () => undefined);
  planSock.end(encodeParsedPlan(plan));
  const reader = new SyncReader(syncSock, what);

  let pid: number;
  try {
    pid = await Promise.race([expect(reader, 'created', what), h.failed]);
  } catch (e) {
    syncSock.end(); // EOF: a helper still waiting for `start` gives up
    await h.exited();
    h.release();
    throw e;
  }
  log.debug('helper created', { pid });
  let state: 'created' | 'started' | 'aborted' = 'created';
  return {
    pid,
    helperPid: h.pid,
    monitor: new MonitorClient(plan.stateDir, what),
    async start() {
      if (state !== 'created') throw internal(`${what}: start after ${state}`);
      state = 'started';
      syncSock.write('start\n');
      let started: number;
      try {
        started = await expect(reader, 'started', what);
      } catch (e) {
        await h.exited();
        h.release();
        throw e;
      }
      log.debug('helper started', { pid: started });
      h.keepSync();
      const exited = reader.exit.then(
        (raw) => (raw === undefined ? undefined : toExit(raw)),
        () => undefined,
      );
      void exited.catch(() => undefined).finally(() => h.release());
      return { pid: started, exited: exited.catch(() => undefined) };
    },
    async abort() {
      if (state !== 'created') return;
      state = 'aborted';
      syncSock.end('abort\n');
      await h.exited();
      h.release();
    },
  };
}
