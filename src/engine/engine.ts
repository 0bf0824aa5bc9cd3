/**
 * The engine berthd serves (Engine in types.ts): each operation finds the container (id, name or
 * id prefix) and hands it to the module that implements it.
 */
import type { Ctx } from '../core/context';
import { conflict, errorKind, invalidArgument, isNotFound } from '../core/errors';
import { commitContainer } from './commit';
import { createContainer, NAME_LABEL } from './create';
import type { EngineDeps } from './deps';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from './detach-keys';
import { EngineEvents } from './events';
import { execIn } from './exec';
import { EngineImages } from './images';
import { Lifecycle } from './lifecycle';
import { listContainers } from './list';
import type { LogLines } from './logs/lines';
import { readLogBatches } from './logs/reader';
import { validateName } from './names';
import { toContainer, type EngineRecord } from './record';
import { restoreEngine } from './restore';
import { EngineSession } from './session';
import { sample } from './stats';
import { topOf } from './top';
import { changes, copyFrom, copyTo, exportRootfs, statPath } from './files/container-files';
import { imageHistory, importImage } from './files/images';
import type { CopyToOptions, ImportOptions } from './files/types';
import type { HistoryRow } from './history';
import { pruneContainers, pruneImages, type PruneOptions, type PruneReport, type SystemPruneOptions, type SystemPruneReport } from './prune';
import { updateContainer, type UpdateOptions } from './update';
import type { Archive, Change, PathStat } from '../rootfs';
import type { Volumes } from '../volumes';
import type {
  AttachOptions,
  CommitOptions,
  CommitResult,
  ContainerSummary,
  CreateOptions,
  Engine,
  EngineContainer,
  EngineEvent,
  EventsOptions,
  ImageDetail,
  ImageSummary,
  ExecOptions,
  ExecSession,
  ListOptions,
  RemoveImageResult,
  LogEntry,
  LogsOptions,
  NetworkCreateOptions,
  NetworkInspect,
  NetworkListOptions,
  StatsSample,
  StopOptions,
  StreamSession,
  TopResult,
  WaitCondition,
  WaitResult,
} from './types';

const running = (r: EngineRecord) => r.state.status === 'running' || r.state.status === 'paused';

export class LocalEngine implements Engine {
  private readonly publisher: EngineEvents;
  private readonly life: Lifecycle;
  private readonly images: EngineImages;

  constructor(private readonly d: EngineDeps) {
    this.publisher = new EngineEvents(d.events);
    this.life = new Lifecycle(d, this.publisher);
    this.images = new EngineImages(d);
  }

  /** Matches the records with the tasks berthd found again, then starts what restart policies want (call once, at start-up). */
  restore(): ReturnType<typeof restoreEngine> {
    return restoreEngine(this.d, this.life);
  }

  /** berthd is stopping: pending restarts are dropped (the containers stay `restarting`; the next berthd starts them). */
  close(): void {
    this.life.restarts.close();
  }

  get volumes(): Volumes {
    return this.d.volumes;
  }

  private resolve(ctx: Ctx, ref: string): Promise<EngineRecord> {
    return this.d.records.resolve(ctx, ref);
  }

  async create(ctx: Ctx, opts: CreateOptions): Promise<EngineContainer & { warnings: string[] }> {
    const { warnings, ...r } = await createContainer(this.d, this.publisher, ctx, opts);
    return { ...toContainer(r), warnings };
  }

  async start(ctx: Ctx, ref: string): Promise<void> {
    await this.life.start(ctx, (await this.resolve(ctx, ref)).id, { explicit: true });
  }

  async stop(ctx: Ctx, ref: string, opts?: StopOptions): Promise<void> {
    await this.life.stop(ctx, await this.resolve(ctx, ref), opts);
  }

  async restart(ctx: Ctx, ref: string, opts?: StopOptions): Promise<void> {
    const r = await this.resolve(ctx, ref);
    await this.life.stop(ctx, r, opts);
    await this.life.start(ctx, r.id);
    this.publisher.publish(ctx.ns, 'restart', r);
  }

  async kill(ctx: Ctx, ref: string, signal?: string | number): Promise<void> {
    await this.life.kill(ctx, await this.resolve(ctx, ref), signal);
  }

  async pause(ctx: Ctx, ref: string): Promise<void> {
    await this.life.pause(ctx, await this.resolve(ctx, ref), true);
  }

  async unpause(ctx: Ctx, ref: string): Promise<void> {
    await this.life.pause(ctx, await this.resolve(ctx, ref), false);
  }

  async remove(ctx: Ctx, ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    await this.life.remove(ctx, await this.resolve(ctx, ref), opts.force ?? false, opts.volumes ?? false);
  }

  async rename(ctx: Ctx, ref: string, newName: string): Promise<void> {
    const name = validateName(newName);
    const r = await this.resolve(ctx, ref);
    if (r.name === name) throw invalidArgument(`renaming a container with the same name as its current name`);
    await this.life.serial(ctx.ns, r.id, async () => {
      await this.d.records.update(ctx, r.id, (x) => ({ ...x, name }));
      await this.d.network.rename(r.id, name);
      const c = await this.d.containers.get(ctx, r.id);
      await this.d.containers.update(ctx, { ...c, labels: { ...c.labels, [NAME_LABEL]: name } }, [`labels.${NAME_LABEL}`]);
    });
    this.publisher.publish(ctx.ns, 'rename', { ...r, name }, { oldName: `/${r.name}` });
  }

  async wait(ctx: Ctx, ref: string, condition?: WaitCondition): Promise<WaitResult> {
    return this.life.wait(ctx, await this.resolve(ctx, ref), condition);
  }

  async inspect(ctx: Ctx, ref: string): Promise<EngineContainer> {
    const r = await this.resolve(ctx, ref);
    return toContainer(r, running(r) ? this.d.network.settings(r.id) : undefined);
  }

  async list(ctx: Ctx, opts?: ListOptions): Promise<ContainerSummary[]> {
    return listContainers(await this.d.records.list(ctx), opts, (id) => this.d.network.settings(id));
  }

  async *logs(ctx: Ctx, ref: string, opts: LogsOptions = {}): AsyncIterable<LogEntry> {
    for await (const batch of this.logBatches(ctx, ref, opts)) yield* batch;
  }

  /** `logs` in batches (what a stream sends many at a time uses: no await per entry). */
  async *logBatches(ctx: Ctx, ref: string, opts: LogsOptions = {}): AsyncIterable<LogLines> {
    const r = await this.resolve(ctx, ref);
    const stopped = opts.follow && running(r) ? this.life.wait(ctx, r, 'not-running').catch(() => undefined) : Promise.resolve();
    yield* readLogBatches(r.logPath, opts, { stopped, signal: ctx.signal });
  }

  async attach(ctx: Ctx, ref: string, o: AttachOptions = {}): Promise<StreamSession> {
    const r = await this.resolve(ctx, ref);
    const s = r.state.status;
    if (s === 'paused') throw conflict('you cannot attach to a paused container, unpause it first');
    if (s !== 'running' && s !== 'created') throw conflict('you cannot attach to a stopped container, start it first');
    const stdin = !!o.stdin && r.config.openStdin;
    const streams = [
      ...(stdin ? (['stdin'] as const) : []),
      ...((o.stdout ?? true) ? (['stdout'] as const) : []),
      ...((o.stderr ?? true) ? (['stderr'] as const) : []),
    ];
    const bg = { ns: ctx.ns, log: ctx.log };
    const opts = {
      tty: r.config.tty,
      stdin,
      detachKeys: parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS),
      closeStdinAtEnd: r.config.stdinOnce,
      recorded: () => this.life.wait(bg, { ...r, state: { ...r.state, status: 'running' } }),
    };
    if (s === 'created') {
      // Connected when it starts (Docker's `start -a`, `run` attached), before any output.
      const session = new EngineSession(opts);
      this.life.addPending(ctx.ns, r.id, session, streams);
      return session;
    }
    const stopped = () => conflict('you cannot attach to a stopped container, start it first');
    let session;
    try {
      session = await this.d.tasks.attach(ctx, r.id, undefined, streams).session;
    } catch (e) {
      // It exited between the record's look and ours (its exit is being recorded).
      if (isNotFound(e) || errorKind(e) === 'FailedPrecondition' || errorKind(e) === 'Unavailable') throw stopped();
      throw e;
    }
    return new EngineSession(opts, session);
  }

  async exec(ctx: Ctx, ref: string, opts: ExecOptions): Promise<ExecSession> {
    return execIn(this.d, this.publisher, ctx, await this.resolve(ctx, ref), opts);
  }

  async resize(ctx: Ctx, ref: string, width: number, height: number, execId?: string): Promise<void> {
    const r = await this.resolve(ctx, ref);
    if (!running(r)) throw conflict(`container ${r.id} is not running`);
    await this.d.tasks.resize(ctx, r.id, execId || undefined, width, height);
  }

  async top(ctx: Ctx, ref: string): Promise<TopResult> {
    const r = await this.resolve(ctx, ref);
    if (!running(r)) throw conflict(`container ${r.id} is not running`);
    return topOf((await this.d.tasks.listPids(ctx, r.id)).map((p) => p.pid));
  }

  async *stats(ctx: Ctx, ref: string, opts: { stream?: boolean; intervalMs?: number } = {}): AsyncIterable<StatsSample> {
    const r = await this.resolve(ctx, ref);
    if (!running(r)) throw conflict(`container ${r.id} is not running`);
    let prev: StatsSample | undefined;
    for (;;) {
      const [m] = await this.d.tasks.metrics(ctx, [`id==${r.id}`]);
      if (!m) return; // stopped
      const pid = this.d.tasks.get(ctx, r.id).pid;
      const s = await sample(m, pid, prev);
      yield s;
      if (!opts.stream) return;
      prev = s;
      await new Promise<void>((res) => {
        const t = setTimeout(res, opts.intervalMs ?? 1000);
        ctx.signal?.addEventListener('abort', () => (clearTimeout(t), res()), { once: true });
      });
      if (ctx.signal?.aborted) return;
    }
  }

  async commit(ctx: Ctx, ref: string, opts: CommitOptions = {}): Promise<CommitResult> {
    return commitContainer(this.d, this.publisher, ctx, await this.resolve(ctx, ref), opts);
  }

  events(ctx: Ctx, opts: EventsOptions = {}): AsyncIterable<EngineEvent> {
    return this.publisher.subscribe(ctx, opts);
  }

  listImages(ctx: Ctx, filters?: Record<string, string[]>): Promise<ImageSummary[]> {
    return this.images.list(ctx, filters);
  }

  inspectImage(ctx: Ctx, ref: string): Promise<ImageDetail> {
    return this.images.inspect(ctx, ref);
  }

  removeImage(ctx: Ctx, ref: string, opts: { force?: boolean } = {}): Promise<RemoveImageResult> {
    return this.images.remove(ctx, ref, opts.force ?? false);
  }

  // Networks are berthd's, not a namespace's (as Docker's are the daemon's).

  async createNetwork(_ctx: Ctx, opts: NetworkCreateOptions): Promise<NetworkInspect> {
    return this.d.network.createNetwork(opts);
  }

  async inspectNetwork(_ctx: Ctx, ref: string): Promise<NetworkInspect> {
    return this.d.network.inspectNetwork(ref);
  }

  async listNetworks(_ctx: Ctx, opts?: NetworkListOptions): Promise<NetworkInspect[]> {
    return this.d.network.listNetworks(opts);
  }

  async removeNetwork(_ctx: Ctx, ref: string): Promise<void> {
    await this.d.network.removeNetwork(ref);
  }

  async pruneNetworks(_ctx: Ctx, filters?: Record<string, string[]>): Promise<string[]> {
    return this.d.network.pruneNetworks(filters);
  }

  async connect(ctx: Ctx, network: string, ref: string, opts: { ip?: string; aliases?: string[] } = {}): Promise<void> {
    const r = await this.resolve(ctx, ref);
    await this.life.serial(ctx.ns, r.id, async () => {
      const cur = (await this.d.records.get(ctx, r.id)) ?? r;
      const next = await this.d.network.connect(this.netRef(ctx, cur), cur.network, network, opts);
      await this.d.records.update(ctx, r.id, (x) => ({ ...x, network: next }));
    });
  }

  async disconnect(ctx: Ctx, network: string, ref: string): Promise<void> {
    const r = await this.resolve(ctx, ref);
    await this.life.serial(ctx.ns, r.id, async () => {
      const cur = (await this.d.records.get(ctx, r.id)) ?? r;
      const next = await this.d.network.disconnect(this.netRef(ctx, cur), cur.network, network);
      await this.d.records.update(ctx, r.id, (x) => ({ ...x, network: next }));
    });
  }

  private netRef(ctx: Ctx, r: EngineRecord) {
    return { id: r.id, ns: ctx.ns, name: r.name, hostname: r.config.hostname };
  }

  async update(ctx: Ctx, ref: string, opts: UpdateOptions): Promise<{ warnings: string[] }> {
    return updateContainer(this.d, this.life, ctx, await this.resolve(ctx, ref), opts);
  }

  async statPath(ctx: Ctx, ref: string, path: string): Promise<PathStat> {
    return statPath(this.d, ctx, await this.resolve(ctx, ref), path);
  }

  async copyFrom(ctx: Ctx, ref: string, path: string, opts: { signal?: AbortSignal } = {}): Promise<{ stat: PathStat; archive: Archive }> {
    return copyFrom(this.d, ctx, await this.resolve(ctx, ref), path, opts.signal);
  }

  async copyTo(ctx: Ctx, ref: string, path: string, tar: AsyncIterable<Buffer>, opts?: CopyToOptions): Promise<void> {
    await copyTo(this.d, this.life, ctx, await this.resolve(ctx, ref), path, tar, opts);
  }

  async export(ctx: Ctx, ref: string, opts: { signal?: AbortSignal } = {}): Promise<Archive> {
    return exportRootfs(this.d, ctx, await this.resolve(ctx, ref), opts.signal);
  }

  async changes(ctx: Ctx, ref: string): Promise<Change[]> {
    return changes(this.d, ctx, await this.resolve(ctx, ref));
  }

  history(ctx: Ctx, image: string): Promise<HistoryRow[]> {
    return imageHistory(this.d, ctx, image);
  }

  importImage(ctx: Ctx, tar: AsyncIterable<Buffer>, opts?: ImportOptions): Promise<{ imageId: string; name: string }> {
    return importImage(this.d, ctx, tar, opts);
  }

  prune(ctx: Ctx, opts?: PruneOptions): Promise<PruneReport> {
    return pruneContainers(this.d, ctx, (id) => this.remove(ctx, id), opts);
  }

  pruneImages(ctx: Ctx, opts?: PruneOptions & { all?: boolean }): Promise<PruneReport> {
    return pruneImages(this.d, ctx, opts);
  }

  async systemPrune(ctx: Ctx, opts: SystemPruneOptions = {}): Promise<SystemPruneReport> {
    // Docker's order: containers first, so that what they held becomes unused.
    const containers = await this.prune(ctx, { ...(opts.filters ? { filters: opts.filters } : {}) });
    const labels = Object.fromEntries(Object.entries(opts.filters ?? {}).filter(([k]) => k === 'label' || k === 'label!'));
    const networks = await this.pruneNetworks(ctx, labels);
    const images = await this.pruneImages(ctx, { all: opts.all ?? false, ...(opts.filters ? { filters: opts.filters } : {}) });
    const volumes = opts.volumes ? await this.d.volumes.prune(ctx, { filters: labels }) : undefined;
    return {
      containers,
      networks,
      images,
      ...(volumes ? { volumes } : {}),
      spaceReclaimed: containers.spaceReclaimed + images.spaceReclaimed + (volumes?.spaceReclaimed ?? 0),
    };
  }
}
