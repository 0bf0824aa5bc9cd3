/**
 * berth's client: one connection to berthd (HTTP/2 on its unix socket, opened on the first
 * call) and one typed object per service, each made when first used.
 *
 *   const client = new Client();                       // BERTH_ADDRESS or /run/berth/berthd.sock
 *   const { id } = await client.engine.create({ image: 'busybox', cmd: ['echo', 'hi'] });
 *   await client.engine.start({ container: id });
 *   for await (const b of client.engine.logs({ container: id, follow: true })) for (const e of b.entries) process.stdout.write(e.data);
 *   client.close();
 *
 * The namespace is `default` (BERTH_NAMESPACE overrides it), as ctr's and nerdctl's: images that
 * ctr imported are the ones `berth run` finds.
 */
import type { DeepPartial, ServiceName } from '../api/descriptors';
import type {
  AttachInit,
  ContainerRequest,
  CopyToInit,
  ExecInit,
  ImportImageResponse,
  ImportInit,
  PathRequest,
  PathStat,
} from '../api/gen/berth/engine/v1/engine';
import { archiveBytes, statAndArchive, upload } from './engine-transfers';
import { H2Channel } from '../transport';
import type { CallOptions, Transport } from './rpc';
import { type ServiceClient, serviceClient } from './service';
import { Session } from './session';
import type { TransferClient } from './transfer/client';

export const DEFAULT_ADDRESS = '/run/berth/berthd.sock';
export const DEFAULT_NAMESPACE = 'default';

export interface ClientOptions {
  /** berthd's socket; default BERTH_ADDRESS, else /run/berth/berthd.sock (a `unix://` prefix is accepted). */
  address?: string;
  /** Default BERTH_NAMESPACE, else `default`. */
  namespace?: string;
}

export type EngineClient = ServiceClient<'berth.engine.v1.Engine'> & {
  /** Attaches to a container (Engine/Attach) and waits until the session is ready. */
  attachSession(init: DeepPartial<AttachInit>, opts?: CallOptions): Promise<Session>;
  /** Runs a process in a running container (Engine/Exec) and waits until it has started. */
  execSession(init: DeepPartial<ExecInit>, opts?: CallOptions): Promise<Session>;
} & EngineTransfers;

/** The engine's tar streams (engine-transfers.ts). */
export interface EngineTransfers {
  /** `cp CONTAINER:PATH -`: the path's stat, then its tar. */
  copyFromArchive(req: DeepPartial<PathRequest>, opts?: CallOptions): Promise<{ stat: PathStat; data: AsyncIterable<Buffer> }>;
  /** `cp - CONTAINER:PATH`: a tar (plain or gzip) extracted below the directory PATH. */
  copyToArchive(init: DeepPartial<CopyToInit>, tar: AsyncIterable<Buffer | Uint8Array | string>, opts?: CallOptions): Promise<void>;
  /** `export`: the container's filesystem as a tar. */
  exportArchive(req: DeepPartial<ContainerRequest>, opts?: CallOptions): AsyncIterable<Buffer>;
  /** `import`: a filesystem tarball becomes an image. */
  importArchive(init: DeepPartial<ImportInit>, tar: AsyncIterable<Buffer | Uint8Array | string>, opts?: CallOptions): Promise<ImportImageResponse>;
}

/**
 * The connection, shared by a client and the clients withNamespace() makes from it. A call after
 * the connection failed (berthd restarted) opens a new one.
 */
class Connection {
  private ch: H2Channel | undefined;
  constructor(readonly address: string) {}
  channel(): H2Channel {
    if (this.ch?.failed) this.ch = undefined;
    return (this.ch ??= new H2Channel(this.address));
  }
  close(): void {
    this.ch?.close();
    this.ch = undefined;
  }
}

export class Client {
  readonly address: string;
  readonly namespace: string;
  private readonly conn: Connection;
  private readonly transport: Transport;
  private readonly made = new Map<string, unknown>();

  constructor(opts: ClientOptions = {}, conn?: Connection) {
    this.address = (opts.address || process.env.BERTH_ADDRESS || DEFAULT_ADDRESS).replace(/^unix:\/\//, '');
    this.namespace = opts.namespace ?? (process.env.BERTH_NAMESPACE || DEFAULT_NAMESPACE);
    this.conn = conn ?? new Connection(this.address);
    const c = this.conn;
    this.transport = { address: this.address, namespace: this.namespace, channel: () => c.channel() };
  }

  /** A client for another namespace on the same connection. */
  withNamespace(namespace: string): Client {
    return new Client({ address: this.address, namespace }, this.conn);
  }

  /** Closes the connection; calls in flight fail with Unavailable. The next call opens a new one. */
  close(): void {
    this.conn.close();
  }

  private svc<N extends ServiceName>(name: N): ServiceClient<N> {
    let s = this.made.get(name) as ServiceClient<N> | undefined;
    if (!s) this.made.set(name, (s = serviceClient(this.transport, name)));
    return s;
  }

  /** berth's engine: Docker's containers (names, run, logs, attach, exec, stats, commit, events) and images. */
  get engine(): EngineClient {
    let e = this.made.get('engine') as EngineClient | undefined;
    if (!e) {
      const raw = this.svc('berth.engine.v1.Engine');
      e = Object.freeze({
        ...raw,
        attachSession: (init: DeepPartial<AttachInit>, opts?: CallOptions) => Session.open(raw.attach(opts), { attach: init }),
        execSession: (init: DeepPartial<ExecInit>, opts?: CallOptions) => Session.open(raw.exec(opts), { exec: init }),
        copyFromArchive: (req: DeepPartial<PathRequest>, opts?: CallOptions) => statAndArchive(raw.copyFrom(req, opts)),
        copyToArchive: (init: DeepPartial<CopyToInit>, tar: AsyncIterable<Buffer | Uint8Array | string>, opts?: CallOptions) =>
          upload(raw.copyTo(opts), init, tar).then(() => undefined),
        exportArchive: (req: DeepPartial<ContainerRequest>, opts?: CallOptions) => archiveBytes(raw.export(req, opts)),
        importArchive: (init: DeepPartial<ImportInit>, tar: AsyncIterable<Buffer | Uint8Array | string>, opts?: CallOptions) =>
          upload(raw.importImage(opts), init, tar),
      });
      this.made.set('engine', e);
    }
    return e;
  }

  /**
   * pull, push, tag, import and export through berthd's Transfer service (containerd 2.x's), with
   * progress and credentials on Streaming streams: `await client.transfer.pull('busybox:1.36')`.
   * The raw Transfer and Streaming services are `transferService` and `streaming`.
   */
  get transfer(): TransferClient {
    let t = this.made.get('transfer') as TransferClient | undefined;
    if (!t) {
      // Loaded on first use: a process that never transfers does not load the module.
      const { TransferClient: Ctor } = require('./transfer/client') as typeof import('./transfer/client'); // eslint-disable-line @typescript-eslint/no-require-imports
      this.made.set('transfer', (t = new Ctor(this.transport)));
    }
    return t;
  }
  get transferService() {
    return this.svc('containerd.services.transfer.v1.Transfer');
  }
  get streaming() {
    return this.svc('containerd.services.streaming.v1.Streaming');
  }

  get containers() {
    return this.svc('containerd.services.containers.v1.Containers');
  }
  get content() {
    return this.svc('containerd.services.content.v1.Content');
  }
  get diff() {
    return this.svc('containerd.services.diff.v1.Diff');
  }
  get events() {
    return this.svc('containerd.services.events.v1.Events');
  }
  get images() {
    return this.svc('containerd.services.images.v1.Images');
  }
  get introspection() {
    return this.svc('containerd.services.introspection.v1.Introspection');
  }
  get leases() {
    return this.svc('containerd.services.leases.v1.Leases');
  }
  get namespaces() {
    return this.svc('containerd.services.namespaces.v1.Namespaces');
  }
  get snapshots() {
    return this.svc('containerd.services.snapshots.v1.Snapshots');
  }
  get tasks() {
    return this.svc('containerd.services.tasks.v1.Tasks');
  }
  get version() {
    return this.svc('containerd.services.version.v1.Version');
  }
}
