import type { Labels, Mount } from '../core/types';

/**
 * The snapshotter contract (containerd's core/snapshots). Backends are namespace-unaware and work
 * on backend keys; metadata/snapshots.ts wraps them with a namespaced view. Every operation only
 * *returns* mount specs, it never mounts.
 */
export type Kind = 'VIEW' | 'ACTIVE' | 'COMMITTED';

export interface Info {
  /** The key (active/view) or the committed name. */
  name: string;
  /** Name of the committed parent, if any. */
  parent?: string;
  kind: Kind;
  labels: Labels;
  createdAt: Date;
  updatedAt: Date;
}

export interface Usage {
  /** Bytes allocated (st_blocks × 512), each inode counted once. */
  size: number;
  inodes: number;
}

export interface Snapshotter {
  /** NotFound for an unknown key. */
  stat(key: string): Promise<Info>;
  /**
   * Updates labels only: fieldpaths `labels` or `labels.<key>`; none = replace all labels.
   * Anything else is InvalidArgument.
   */
  update(info: Pick<Info, 'name' | 'labels'>, fieldpaths?: readonly string[]): Promise<Info>;
  usage(key: string): Promise<Usage>;
  /** Mounts of an active snapshot or a view (FailedPrecondition for a committed one, as containerd 1.6). */
  mounts(key: string): Promise<Mount[]>;
  /** A new writable snapshot on top of committed `parent`. AlreadyExists for a used key. */
  prepare(key: string, parent?: string, labels?: Labels): Promise<Mount[]>;
  /** A new read-only snapshot of committed `parent`. */
  view(key: string, parent?: string, labels?: Labels): Promise<Mount[]>;
  /** Turns active `key` into committed `name` (key disappears). AlreadyExists if `name` is used. */
  commit(name: string, key: string, labels?: Labels): Promise<void>;
  /** FailedPrecondition if the snapshot has children. */
  remove(key: string): Promise<void>;
  /** Every snapshot matching containerd filters (`name`, `parent`, `kind`, `labels.<k>`). */
  walk(filters?: readonly string[]): AsyncIterable<Info>;
  /** Removes directories no snapshot refers to (crash leftovers). */
  cleanup(): Promise<void>;
  close(): Promise<void>;
}
