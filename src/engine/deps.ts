/** What the engine is built from (the daemon's engine slice wires these). */
import type { ContentStore } from '../content/types';
import type { Container } from '../containers';
import type { Ctx } from '../core/context';
import type { Logger } from '../core/logger';
import type { EventExchange } from '../events/exchange';
import type { ImageStore } from '../images';
import type { LeaseStore } from '../metadata/leases';
import type { NamespacedSnapshotter } from '../metadata/snapshots';
import type { Clock } from '../core/clock';
import type { RootfsOps } from '../rootfs';
import type { TaskManager } from '../tasks';
import type { Volumes } from '../volumes';
import type { LayerDiffer } from './commit';
import type { Records } from './records';
import type { LayerApplier } from './unpack';

/** containerd's container store, as the engine uses it. */
export interface ContainerRecords {
  get(ctx: Ctx, id: string): Promise<Container>;
  create(ctx: Ctx, c: Omit<Container, 'createdAt' | 'updatedAt'>): Promise<Container>;
  update(ctx: Ctx, c: Omit<Container, 'createdAt' | 'updatedAt'>, fieldpaths?: readonly string[]): Promise<Container>;
  delete(ctx: Ctx, id: string): Promise<void>;
}

export interface NamespaceLister {
  list(ctx: Ctx): Promise<Array<{ name: string }>>;
}

export interface EngineDeps {
  records: Records;
  containers: ContainerRecords;
  namespaces: NamespaceLister;
  images: ImageStore;
  content: ContentStore;
  leases: LeaseStore;
  snapshotters: ReadonlyMap<string, NamespacedSnapshotter>;
  snapshotter: string;
  tasks: TaskManager;
  applier: LayerApplier;
  /** Computes a layer from two mount sets (the Diff service's compute side); for commit. */
  differ?: LayerDiffer;
  events?: EventExchange;
  /** The berth-helper binary: `--init` mounts it into the container. */
  helperPath: string;
  /** Named and anonymous volumes. */
  volumes: Volumes;
  /** Reads and writes containers' filesystems (copy-up, cp, export, diff) through berth-rootfs. */
  rootfs: RootfsOps;
  /** Where berth-rootfs makes its private mount points (`<state>/engine-mnt`). */
  tmpdir: string;
  /** Restart backoff timers (tests use a manual clock). */
  clock?: Clock;
  log: Logger;
}
