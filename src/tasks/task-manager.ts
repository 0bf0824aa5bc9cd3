/**
 * The tasks slice's domain object (containerd's runtime v2 TaskManager + the tasks service's
 * local half): creates bundles, launches init and exec processes through berth-helper, follows
 * their exits, and answers every Tasks RPC by namespace and container id. The helper's monitors
 * outlive berthd; `restore()` (restore.ts) finds them again after a restart.
 */
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Ctx } from '../core/context';
import { alreadyExists, canceled, failedPrecondition, internal, invalidArgument, isNotFound, notFound, notImplemented } from '../core/errors';
import { adapt, parseFilters } from '../core/filters';
import { validateId } from '../core/identifiers';
import type { Logger } from '../core/logger';
import type { Mount } from '../core/types';
import type { EventPublisher } from '../events/types';
import type { Container } from '../containers';
import {
  createBundle,
  discardBundle,
  markExitReported,
  markExitReportedSync,
  removeBundle,
  removeExecRecord,
  TaskPaths,
  writeExecRecord,
  writeTaskRecord,
  type TaskRecord,
} from './bundle';
import { cgroupDirsAt, cgroupDirsOf, cgroupPids, prepareCgroupBase, removeEmptyCgroupParents, updateResources, type CgroupDirs } from './cgroup';
import { TaskEvents } from './events';
import { createProcess, helperPath, openAttach, removeStateDir, type AttachStream, type Capture, type PendingAttach } from './helper';
import { discardLaunched, Launcher, MAX_LAUNCHER_SOCKET, type LaunchedHelper } from './helper/launcher';
import { SeccompCompiler, type SeccompFilter } from './helper/seccomp-compiler';
import { SeccompFilters } from './seccomp-filters';
import { cgroupMetrics } from './metrics';
import { Proc, type ProcHooks } from './process';
import { execPlan, parseSpec, planFromSpec, type SpecToPlanOptions } from './spec';
import { stdioFor } from './stdio';
import { Task } from './task';
import { resolveUsernsRemap, type SubidFiles, type UsernsRemap } from './userns-remap';
import { parseSpecJson, warmPlan, WarmSpecs } from './warm-specs';
import type { CreateTaskOptions, Exit, ExecOptions, PidInfo, ProcessView, ResourceUpdate, TaskCapture, TaskIO, TaskMetric } from './types';

/** Runtime names berthd runs with berth-helper (containerd's runc shims, and berth's own). */
export const SUPPORTED_RUNTIMES = ['io.containerd.runc.v2', 'io.containerd.runc.v1', 'io.berth.v1'] as const;

export interface ContainerSource {
  get(ctx: Ctx, id: string): Promise<Container>;
}
export interface MountSource {
  mounts(ctx: Ctx, key: string): Promise<Mount[]>;
}

export interface TaskManagerOptions {
  state: string;
  /** Cgroup parent below berthd's own cgroup; '' = `berth`. */
  cgroupParent: string;
  containers: ContainerSource;
  snapshotters: ReadonlyMap<string, MountSource>;
  events?: EventPublisher;
  log: Logger;
  helperPath?: string;
  /**
   * The helper launcher to fork through (helperLauncher()); null for none. Left out, the manager
   * makes its own and closes it in close(); one that is passed in is its owner's to close.
   */
  launcher?: Launcher | null;
  /** native/build/berth-seccomp unless given. */
  seccompCompilerPath?: string;
  /** Docker's userns-remap: `USER[:GROUP]`, resolved against the subordinate id files (userns-remap.ts). */
  usernsRemap?: string;
  subidFiles?: SubidFiles;
}

/**
 * v2: berthd moves into its leaf (before it forks the launcher, whose children would stay in the
 * cgroup) so that its cgroup can hand controllers to the containers'. Idempotent.
 */
function prepareCgroups(log: Logger): void {
  try {
    prepareCgroupBase();
  } catch (e) {
    log.warn('cgroup v2: cannot make our cgroup a parent with controllers; containers run without resource limits', { error: (e as Error).message });
  }
}

/**
 * The launcher that forks berth-helpers for the tasks under `state` (and deletes trees for the
 * snapshotters); undefined where its socket path would not fit in a sockaddr_un.
 */
export function helperLauncher(opts: { state: string; log: Logger; helperPath?: string }): Launcher | undefined {
  const sock = new TaskPaths(opts.state).launcherSocket;
  if (sock.length > MAX_LAUNCHER_SOCKET) return undefined;
  prepareCgroups(opts.log);
  return new Launcher(sock, opts.helperPath ?? helperPath(), opts.log, { spare: true });
}

/** The plan's capture part; a captured process must not be given FIFOs or files as well. */
function captureFor(c: TaskCapture | undefined, io: TaskIO, what: string): Capture | undefined {
  if (!c) return undefined;
  if (io.stdin || io.stdout || io.stderr) throw invalidArgument(`${what}: stdio is captured by the monitor: no FIFOs or log URIs may be given as well`);
  return { stdinOpen: c.stdinOpen, log: c.log && { path: c.log.path, maxSize: c.log.maxSize, maxFiles: c.log.maxFiles } };
}

const ANY_SIGNAL_MAX = 64;
const MARK_DELAY_MS = 250;
export class TaskManager {
  readonly paths: TaskPaths;
  readonly events: TaskEvents;
  readonly log: Logger;
  private readonly tasks = new Map<string, Task>();
  private readonly pending = new Set<string>();
  private readonly ac = (() => {
    const ac = new AbortController();
    setMaxListeners(0, ac.signal); // every waiter on a task listens to it: many containers are not a leak
    return ac;
  })();
  private readonly pendingMarks = new Map<string, (sync: boolean) => void>();
  /**
   * Deleted tasks whose monitor may still be finishing (it removes the cgroup after answering the
   * waiters): a new task of the same id waits for it, or that removal would hit the new one's
   * cgroup (same path) and kill its processes.
   */
  private readonly finishing = new Map<string, Promise<void>>();
  /** Specs (and their launch plans) validated ahead by warmSpec, by ns/id, with the stored spec value they came from. */
  private readonly warmSpecs = new WarmSpecs();
  private readonly cgroupParent: string;
  private readonly usernsRemap?: UsernsRemap;
  /** Forks the helpers (launcher.ts); undefined where its socket path would not fit. */
  private readonly launcher?: Launcher;
  private readonly ownsLauncher: boolean;
  /** Compiled `linux.seccomp` filters, one per distinct profile. */
  private readonly seccomp: SeccompFilters;

  constructor(readonly opts: TaskManagerOptions) {
    this.paths = new TaskPaths(opts.state);
    this.events = new TaskEvents(opts.events);
    this.log = opts.log;
    this.cgroupParent = opts.cgroupParent.split('/').filter(Boolean).join('/') || 'berth';
    if (opts.usernsRemap) this.usernsRemap = resolveUsernsRemap(opts.usernsRemap, opts.subidFiles);
    prepareCgroups(this.log);
    this.ownsLauncher = opts.launcher === undefined;
    this.launcher = opts.launcher === undefined ? helperLauncher(opts) : (opts.launcher ?? undefined);
    this.seccomp = new SeccompFilters(new SeccompCompiler(opts.seccompCompilerPath));
    // What monitors of an earlier berthd left (they keep `<parent>/<ns>`, see specToPlan's keepCgroupParents).
    removeEmptyCgroupParents(this.cgroupParent);
  }

  /** Deletes a tree in a trash dir off berthd's event loop (the launcher's `rm`); false when no launcher runs. */
  private readonly offloadRemoval = (dir: string): boolean => this.launcher?.removeTree(dir) ?? false;

  private get helperOptions() {
    return { log: this.log, helperPath: this.opts.helperPath, launcher: this.launcher };
  }

  /** Aborted on shutdown: exit watchers stop (the monitors keep running). */
  get signal(): AbortSignal {
    return this.ac.signal;
  }

  close(): void {
    for (const write of [...this.pendingMarks.values()]) write(true);
    this.ac.abort();
    if (this.ownsLauncher) this.launcher?.close();
    removeEmptyCgroupParents(this.cgroupParent);
  }

  /** The task's cgroup: where its plan put it (see cgroupDirsAt), else where its init is. */
  private async cgroupDirs(t: Task): Promise<CgroupDirs> {
    return t.record.cgroupPath ? cgroupDirsAt(t.record.cgroupPath) : cgroupDirsOf(t.init.pid, `task ${t.id}`);
  }

  private key(ns: string, id: string): string {
    return `${ns}/${id}`;
  }

  task(ctx: Ctx, id: string): Task {
    const t = this.tasks.get(this.key(ctx.ns, id));
    if (!t) throw notFound(`task ${id} not found`);
    return t;
  }

  /** Used by restore. */
  register(t: Task): void {
    this.tasks.set(this.key(t.namespace, t.id), t);
  }

  hooks(ns: string, bundle: string): ProcHooks {
    return {
      onExit: (p, exit) => {
        this.events.exit(ns, p.containerId, p.id, exit);
        this.markLater(ns, bundle, p);
      },
    };
  }

  /**
   * The exit-reported marker only spares a restarted berthd a duplicate /tasks/exit. Written
   * MARK_DELAY_MS after the exit, and not at all when the process is deleted first (ctr run --rm
   * deletes within a few ms): its open and write were ~0.35 ms of main-thread work per run, right
   * among ctr's next calls. A berthd killed within that window publishes the exit again after
   * its restart; close() writes what is pending.
   */
  private markLater(ns: string, bundle: string, p: Proc): void {
    const key = `${bundle}\0${p.execId ?? ''}`;
    const write = (sync: boolean) => {
      clearTimeout(timer);
      this.pendingMarks.delete(key);
      const t = this.tasks.get(this.key(ns, p.containerId));
      if (t?.bundle !== bundle || (p.execId !== undefined && t.execs.get(p.execId) !== p)) return; // deleted
      if (sync) markExitReportedSync(bundle, p.execId);
      else void markExitReported(bundle, p.execId);
    };
    const timer = setTimeout(() => write(false), MARK_DELAY_MS);
    timer.unref();
    this.pendingMarks.set(key, write);
  }

  /**
   * Called once a container was created (Containers/Create): its spec is parsed and its launch
   * plan built (but for the rootfs mounts and stdio Tasks/Create brings) on later turns of the
   * event loop, while ctr is still busy with its calls before Tasks/Create (warm-specs.ts).
   */
  warmSpec(ns: string, c: Container): void {
    const value = c.spec?.value;
    if (!value || this.ac.signal.aborted) return;
    this.warmSpecs.warm(this.key(ns, c.id), c.id, value, (spec) => {
      const seccomp = this.seccomp.ifReady(spec.linux?.seccomp, `spec for ${c.id}: linux.seccomp`);
      return seccomp === undefined ? undefined : planFromSpec(spec, this.planOptions(ns, c.id, [], seccomp)).plan;
    });
  }

  /** What planFromSpec needs for a container's init (the same ahead of Tasks/Create and in it). */
  private planOptions(ns: string, id: string, rootfsMounts: Mount[], seccomp: SeccompFilter | null, stdio?: SpecToPlanOptions['stdio']): SpecToPlanOptions {
    const bundle = this.paths.bundle(ns, id);
    return {
      id,
      stateDir: this.paths.initStateDir(ns, id),
      bundle,
      rootfsMounts,
      stdio,
      cgroupParent: this.cgroupParent,
      keepCgroupParents: true,
      seccomp,
      usernsRemap: this.usernsRemap,
    };
  }

  async create(ctx: Ctx, o: CreateTaskOptions): Promise<{ pid: number }> {
    const id = validateId('container', o.containerId);
    const key = this.key(ctx.ns, id);
    if (this.tasks.has(key) || this.pending.has(key)) throw alreadyExists(`task ${id}: already exists`);
    this.pending.add(key);
    const prev = this.finishing.get(key);
    if (prev) {
      await prev;
      this.finishing.delete(key);
    }
    const bundle = this.paths.bundle(ctx.ns, id);
    const stateDir = this.paths.initStateDir(ctx.ns, id);
    let made = false;
    // The launcher forks the helper while we read the container and write the bundle.
    let launching: Promise<LaunchedHelper> | undefined = this.launcher?.launch(`container ${id}`);
    launching?.catch(() => undefined);
    try {
      const c = await this.opts.containers.get(ctx, id);
      if (!(SUPPORTED_RUNTIMES as readonly string[]).includes(c.runtime.name)) {
        throw notFound(`runtime ${JSON.stringify(c.runtime.name)} for container ${id}: not supported (berthd runs ${SUPPORTED_RUNTIMES.join(', ')})`);
      }
      if (!c.spec) throw failedPrecondition(`container ${id}: has no spec`);
      const specJson = Buffer.from(c.spec.value, 'base64').toString('utf8');
      const warm = this.warmSpecs.take(key, c.spec.value);
      const spec = warm?.spec ?? parseSpec(parseSpecJson(specJson, id), id);
      const seccomp = await this.seccomp.forProfile(spec.linux?.seccomp, `spec for ${id}: linux.seccomp`);
      let rootfs = o.rootfs;
      if (rootfs.length === 0 && c.snapshotKey) {
        const sn = this.opts.snapshotters.get(c.snapshotter);
        if (!sn) throw notFound(`snapshotter ${c.snapshotter} for container ${id}: not found`);
        rootfs = await sn.mounts(ctx, c.snapshotKey);
      }
      const terminal = o.io.terminal || spec.process?.terminal === true;
      if (terminal && spec.process) spec.process.terminal = true;
      const io: TaskIO = { ...o.io, terminal, stderr: terminal ? '' : o.io.stderr };
      const stdio = {
        stdin: stdioFor(io.stdin, `task ${id} stdin`),
        stdout: stdioFor(io.stdout, `task ${id} stdout`),
        stderr: stdioFor(io.stderr, `task ${id} stderr`),
      };
      if (existsSync(bundle)) await rm(bundle, { recursive: true, force: true }); // leftover of a failed create
      made = true;
      await createBundle(bundle, specJson);
      const capture = captureFor(o.capture, io, `task ${id}`);
      const plan = warmPlan(warm, terminal, rootfs, stdio, capture) ?? {
        ...planFromSpec(spec, this.planOptions(ctx.ns, id, rootfs, seccomp, stdio)).plan,
        capture,
      };
      const prelaunched = launching;
      launching = undefined; // createProcess owns it now
      const created = await createProcess(plan, { ...this.helperOptions, prelaunched });
      const record: TaskRecord = {
        version: 1,
        namespace: ctx.ns,
        containerId: id,
        runtime: c.runtime.name,
        pid: created.pid,
        io,
        stateDir,
        cgroupPath: typeof plan.cgroupPath === 'string' ? plan.cgroupPath : undefined,
        // The plan's: userns-remap adds a user namespace the spec does not name, which execs must join.
        namespaces: (plan.namespaces ?? []).map((n) => ({ type: n.type })),
        capture: o.capture,
      };
      try {
        await writeTaskRecord(bundle, record);
      } catch (e) {
        await created.abort();
        throw internal(`task ${id}: cannot write its record`, { cause: e });
      }
      const proc = new Proc(id, undefined, stateDir, io, created.pid, { status: 'created', created }, this.hooks(ctx.ns, bundle), this.log);
      proc.capture = o.capture;
      const task = new Task(ctx.ns, bundle, record, proc);
      task.seccomp = seccomp;
      this.tasks.set(key, task);
      this.events.create(ctx.ns, id, bundle, rootfs, io, created.pid);
      return { pid: created.pid };
    } catch (e) {
      if (launching) discardLaunched(launching);
      if (made) await removeBundle(bundle, [stateDir]).catch(() => undefined);
      throw e;
    } finally {
      this.pending.delete(key);
    }
  }

  async start(ctx: Ctx, id: string, execId?: string): Promise<{ pid: number }> {
    const t = this.task(ctx, id);
    return t.serial(async () => {
      const p = t.proc(execId);
      if (execId && t.init.status === 'stopped') throw failedPrecondition(`task ${id}: cannot start exec ${execId} in a stopped task`);
      const pid = await p.start(this.signal);
      if (execId) {
        await writeExecRecord(t.bundle, { execId, pid, io: p.io, stateDir: p.stateDir, capture: p.capture }).catch(() => undefined);
        this.events.execStarted(ctx.ns, id, execId, pid);
      } else this.events.start(ctx.ns, id, pid);
      return { pid };
    });
  }

  /**
   * Settles once the monitor of a deleted task has finished its last acts (removing the cgroup),
   * at once when there is none.
   */
  async settled(ctx: Ctx, id: string): Promise<void> {
    await this.finishing.get(this.key(ctx.ns, id));
  }

  /** Blocks until the process exits; fine before Start. */
  async wait(ctx: Ctx, id: string, execId?: string): Promise<Exit> {
    const p = this.task(ctx, id).proc(execId);
    if (!ctx.signal) return p.wait();
    const signal = ctx.signal;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(canceled(`${p.what}: wait canceled`));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      p.wait().then((e) => {
        signal.removeEventListener('abort', onAbort);
        resolve(e);
      });
    });
  }

  async kill(ctx: Ctx, id: string, execId: string | undefined, signal: number, all: boolean): Promise<void> {
    if (!Number.isInteger(signal) || signal < 1 || signal > ANY_SIGNAL_MAX) throw invalidArgument(`task ${id}: bad signal ${signal}`);
    const t = this.task(ctx, id);
    await t.serial(() => t.proc(execId).kill(signal, all));
  }

  async delete(ctx: Ctx, id: string): Promise<Exit> {
    const t = this.task(ctx, id);
    return t.serial(async () => {
      const p = t.init;
      if (p.status === 'running' || p.status === 'paused') throw failedPrecondition(`task ${id}: cannot delete a ${p.status} task: kill it first`);
      if (p.status === 'created') await p.abort(9);
      const exit = p.exit!;
      const key = this.key(ctx.ns, id);
      const gone = p.monitor.gone();
      this.finishing.set(key, gone);
      void gone.then(() => this.finishing.get(key) === gone && this.finishing.delete(key));
      for (const e of t.execs.values()) await this.settleExec(e);
      // The init is stopped: its monitor answered the wait and is exiting, so its state dir can go
      // without asking it first (removeStateDir's probe).
      await discardBundle(this.paths, t.bundle, [p.stateDir, ...[...t.execs.values()].map((e) => e.stateDir)], this.offloadRemoval);
      this.tasks.delete(this.key(ctx.ns, id));
      this.events.delete(ctx.ns, id, exit);
      return exit;
    });
  }

  /** An exec that outlived its init dies with the pid namespace: wait briefly, then give up on it. */
  private async settleExec(e: Proc): Promise<void> {
    if (e.status === 'created') await e.abort(9);
    if (e.status === 'stopped') return;
    await e.kill(9, false).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([e.wait(), new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
  }

  async deleteProcess(ctx: Ctx, id: string, execId: string): Promise<Exit> {
    if (!execId) throw invalidArgument(`task ${id}: exec id is required`);
    const t = this.task(ctx, id);
    return t.serial(async () => {
      const p = t.proc(execId);
      if (p.status === 'running' || p.status === 'paused') throw failedPrecondition(`exec ${execId} in task ${id}: cannot delete a ${p.status} process`);
      if (p.status === 'created') await p.abort(9);
      await removeStateDir(p.stateDir).catch(() => rm(p.stateDir, { recursive: true, force: true }));
      await removeExecRecord(t.bundle, execId);
      t.execs.delete(execId);
      return p.exit!;
    });
  }

  async exec(ctx: Ctx, o: ExecOptions): Promise<void> {
    const execId = validateId('exec', o.execId);
    const t = this.task(ctx, o.containerId);
    await t.serial(async () => {
      if (t.init.status !== 'running') throw failedPrecondition(`task ${t.id}: cannot exec in a ${t.init.status} task`);
      t.reserveExec(execId);
      const stateDir = this.paths.execStateDir(ctx.ns, t.id, execId);
      const proc = (o.process ?? {}) as { terminal?: boolean };
      const terminal = o.io.terminal || proc.terminal === true;
      if (terminal && typeof o.process === 'object' && o.process) (o.process as { terminal?: boolean }).terminal = true;
      const io: TaskIO = { ...o.io, terminal, stderr: terminal ? '' : o.io.stderr };
      const what = `exec ${execId}`;
      // A restored task's filter comes from its bundle's spec.
      const seccomp = t.seccomp !== undefined ? t.seccomp : (t.seccomp = await this.seccomp.forBundle(t.bundle, t.id));
      const plan = execPlan(o.process, {
        id: execId,
        stateDir,
        initPid: t.init.pid,
        cgroupPath: t.record.cgroupPath,
        namespaces: t.record.namespaces.length ? t.record.namespaces : undefined,
        stdio: { stdin: stdioFor(io.stdin, `${what} stdin`), stdout: stdioFor(io.stdout, `${what} stdout`), stderr: stdioFor(io.stderr, `${what} stderr`) },
        seccomp,
      });
      plan.capture = captureFor(o.capture, io, what);
      const created = await createProcess(plan, this.helperOptions).catch(async (e) => {
        await rm(stateDir, { recursive: true, force: true });
        throw e;
      });
      try {
        await writeExecRecord(t.bundle, { execId, pid: created.pid, io, stateDir, capture: o.capture });
      } catch (e) {
        await created.abort();
        await rm(stateDir, { recursive: true, force: true });
        throw internal(`${what}: cannot write its record`, { cause: e });
      }
      const exec = new Proc(t.id, execId, stateDir, io, created.pid, { status: 'created', created }, this.hooks(ctx.ns, t.bundle), this.log);
      exec.capture = o.capture;
      t.execs.set(execId, exec);
      this.events.execAdded(ctx.ns, t.id, execId);
    });
  }

  /**
   * Attaches to a captured process's stdio through its monitor (created or running; for a created
   * one, start it once `requested` settled and the attacher sees all of its output).
   */
  attach(ctx: Ctx, id: string, execId: string | undefined, streams: readonly AttachStream[]): PendingAttach {
    const p = this.task(ctx, id).proc(execId);
    if (!p.capture) throw failedPrecondition(`${p.what}: its stdio is not held by the monitor (started with FIFOs): attach through them`);
    if (p.status === 'stopped') throw failedPrecondition(`${p.what}: process already finished`);
    return openAttach(p.stateDir, streams, p.what);
  }

  /** Succeeds for a process that already exited (ctr resizes after a short command is gone). */
  async resize(ctx: Ctx, id: string, execId: string | undefined, width: number, height: number): Promise<void> {
    const p = this.task(ctx, id).proc(execId);
    // A 0x0 size (a client whose own terminal reports none) changes nothing; TIOCSWINSZ would only blank it.
    if (p.status === 'stopped' || p.status === 'created' || width === 0 || height === 0) return;
    await p.monitor.resize(width, height).catch((e) => {
      if (p.status === 'stopped' || isNotFound(e)) return;
      throw e;
    });
  }

  async closeIO(ctx: Ctx, id: string, execId: string | undefined): Promise<void> {
    const p = this.task(ctx, id).proc(execId);
    if (p.status === 'stopped') return;
    if (p.status === 'created') throw failedPrecondition(`${p.what}: not started`);
    await p.monitor.closeStdin().catch((e) => {
      if (p.status === 'stopped' || isNotFound(e)) return;
      throw e;
    });
  }

  async pause(ctx: Ctx, id: string): Promise<void> {
    const t = this.task(ctx, id);
    await t.serial(async () => {
      if (t.init.status !== 'running') throw failedPrecondition(`task ${id}: cannot pause a ${t.init.status} task`);
      await t.init.monitor.pause();
      t.init.setPaused(true);
      this.events.paused(ctx.ns, id);
    });
  }

  async resume(ctx: Ctx, id: string): Promise<void> {
    const t = this.task(ctx, id);
    await t.serial(async () => {
      if (t.init.status !== 'paused') throw failedPrecondition(`task ${id}: cannot resume a ${t.init.status} task`);
      await t.init.monitor.resume();
      t.init.setPaused(false);
      this.events.resumed(ctx.ns, id);
    });
  }

  async listPids(ctx: Ctx, id: string): Promise<PidInfo[]> {
    const t = this.task(ctx, id);
    if (t.init.status === 'stopped' || t.init.status === 'created') return t.init.status === 'created' ? [{ pid: t.init.pid }] : [];
    const pids = await cgroupPids(await this.cgroupDirs(t));
    const byPid = new Map<number, string>();
    for (const e of t.execs.values()) if (e.status !== 'stopped') byPid.set(e.pid, e.execId!);
    return pids.map((pid) => ({ pid, execId: byPid.get(pid) }));
  }

  async metrics(ctx: Ctx, filters: readonly string[]): Promise<TaskMetric[]> {
    const match = parseFilters(filters);
    const out: TaskMetric[] = [];
    for (const t of this.tasks.values()) {
      if (t.namespace !== ctx.ns) continue;
      if (!match(adapt({ id: t.id, namespace: t.namespace, runtime: t.record.runtime }))) continue;
      if (t.init.status === 'stopped') continue;
      try {
        out.push(await cgroupMetrics(t.id, await this.cgroupDirs(t)));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return out;
  }

  async update(ctx: Ctx, id: string, resources: ResourceUpdate): Promise<void> {
    const t = this.task(ctx, id);
    await t.serial(async () => {
      if (t.init.status === 'stopped') throw failedPrecondition(`task ${id}: cannot update a stopped task`);
      await updateResources(await this.cgroupDirs(t), resources, `task ${id}`);
    });
  }

  get(ctx: Ctx, id: string, execId?: string): ProcessView {
    return this.task(ctx, id).proc(execId).view();
  }

  list(ctx: Ctx, filter?: string): ProcessView[] {
    const match = parseFilters(filter ? [filter] : []);
    return [...this.tasks.values()]
      .filter((t) => t.namespace === ctx.ns && match(adapt({ id: t.id, status: t.init.status, runtime: t.record.runtime })))
      .map((t) => t.init.view());
  }

  checkpoint(_ctx: Ctx, id: string): never {
    throw notImplemented(`task ${id}: checkpoint is not supported by berthd (no CRIU integration)`);
  }
}
