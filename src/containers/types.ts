import type { Labels } from '../core/types';

/** A protobuf Any kept verbatim (the spec is JSON inside; runtime options are protobuf). */
export interface StoredAny {
  typeUrl: string;
  /** base64 of the Any's value bytes */
  value: string;
}

/** containerd's containers.Container. Stored as JSON at `keys.container(ns, id)`. */
export interface Container {
  id: string;
  labels: Labels;
  image: string;
  runtime: { name: string; options?: StoredAny };
  spec?: StoredAny;
  snapshotter: string;
  snapshotKey: string;
  createdAt: Date;
  updatedAt: Date;
  extensions: Record<string, StoredAny>;
}
