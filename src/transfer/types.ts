import type { ContentStore } from '../content/types';
import type { Ctx } from '../core/context';
import type { Descriptor, Labels, Mount } from '../core/types';
import type { EventPublisher } from '../events/types';
import type { ImageStore } from '../images/types';
import type { CredentialsProvider, RegistryClient } from '../remotes';

/**
 * What pull, push, import and export need from the stores, as small interfaces the existing
 * classes already satisfy (NamespacedContentStore, LevelImageStore, LevelLeaseStore,
 * NamespacedSnapshotter, LayerApplier): the transfer slice never touches LevelDB or the disk.
 */
export interface LeaseManager {
  create(ctx: Ctx, lease: { id?: string; labels?: Labels }): Promise<{ id: string }>;
  delete(ctx: Ctx, id: string): Promise<void>;
  list(ctx: Ctx, filters?: readonly string[]): Promise<Array<{ id: string; labels: Labels }>>;
  /** Holds a resource (`content`, `snapshots/<name>`) that already existed before the operation. */
  addResource(ctx: Ctx, id: string, r: { id: string; type: string }): Promise<void>;
  listResources(ctx: Ctx, id: string): Promise<Array<{ id: string; type: string }>>;
}

/** One snapshotter, namespaced by ctx (metadata/snapshots.ts NamespacedSnapshotter). */
export interface SnapshotterApi {
  stat(ctx: Ctx, key: string): Promise<{ name: string; labels: Labels }>;
  prepare(ctx: Ctx, key: string, parent?: string, labels?: Labels): Promise<Mount[]>;
  commit(ctx: Ctx, name: string, key: string, labels?: Labels): Promise<void>;
  remove(ctx: Ctx, key: string): Promise<void>;
}

/** Diff/Apply: extracts a layer onto mounts and returns the uncompressed descriptor (diff ID). */
export interface LayerApplierApi {
  apply(ctx: Ctx, desc: Descriptor, mounts: readonly Mount[]): Promise<Descriptor>;
}

export interface TransferStores {
  content: ContentStore;
  images: ImageStore;
  leases: LeaseManager;
  snapshotters: ReadonlyMap<string, SnapshotterApi>;
  applier: LayerApplierApi;
  /** The namespace's default snapshotter (its `containerd.io/defaults/snapshotter` label, else the daemon's). */
  defaultSnapshotter(ctx: Ctx): Promise<string>;
  /** Image create/update events, as the Images service publishes them. */
  events?: EventPublisher;
  /** Garbage collection, for what a released lease held. */
  gc?: GcTrigger;
}

export interface GcTrigger {
  collect(): Promise<unknown>;
  schedule(): void;
}

/**
 * Progress, shaped like containerd's transfer Progress message (`event`, `name`, `parents`,
 * `progress`, `total`, `desc`). Events: `resolving`, `resolved`, `waiting`, `downloading`,
 * `uploading`, `mounted`, `exists` (already there), `complete`, `unpacking`, `unpacked`,
 * `saved` (the image record), `exporting`, `importing`.
 */
export interface Progress {
  event: string;
  /** A reference, an image name or a digest. */
  name: string;
  parents?: string[];
  /** Bytes done (downloads, uploads). */
  progress?: number;
  total?: number;
  desc?: Descriptor;
}

export type ProgressFn = (p: Progress) => void;

/** Per-operation registry options (the Transfer client's RegistryResolver). */
export interface RegistryOptions {
  /** Asked before the daemon's own credentials (the Transfer client's auth stream). */
  credentials?: CredentialsProvider;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Plain HTTP to every host of this operation. */
  plainHttp?: boolean;
}

/** Makes the registry client for one operation. */
export type RegistryFactory = (o?: RegistryOptions) => RegistryClient;
