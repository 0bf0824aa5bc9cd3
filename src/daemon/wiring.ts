import type { Config } from './config';
import type { Logger } from '../core/logger';
import type { MetadataDB } from '../metadata/db';
import type { EventPublisher } from '../events/types';
import type { ServiceRegistry } from '../services/grpc/registry';

/** One entry of Introspection/Plugins (containerd's plugin listing). */
export interface PluginInfo {
  type: string; // e.g. io.containerd.content.v1
  id: string; // e.g. content
  requires?: string[];
  exports?: Record<string, string>;
  capabilities?: string[];
}

/**
 * Hooks garbage collection needs from stores that live outside the metadata DB.
 * Content blobs are shared on disk across namespaces; GC calls `deleteBlob` only once no
 * namespace references a digest any more.
 */
export interface ContentBackend {
  deleteBlob(digest: string): Promise<void>;
  /** Every digest present on disk (for the orphan sweep). */
  listBlobs(): AsyncIterable<string>;
  /** Removes an ingest by its backend ref (namespaced), e.g. after a lease expires; `evenIfOpen`: also one a writer holds. */
  abortIngest(backendRef: string, evenIfOpen?: boolean): Promise<void>;
  /** Every ingest on disk (backend refs), with whether a writer holds it. */
  listIngests(): AsyncIterable<{ ref: string; open: boolean }>;
}

/**
 * What GC needs from one snapshotter (registered by the snapshots slice in `Wiring.snapshotCollectors`).
 * GC marks from roots, then removes unreferenced snapshots leaf-first through `remove`.
 */
export interface SnapshotCollector {
  /** Every snapshot of this snapshotter in `ns`, with its parent key and labels. */
  list(ns: string): AsyncIterable<{ key: string; parent?: string; labels: Record<string, string> }>;
  remove(ns: string, key: string): Promise<void>;
}

/**
 * The composition root's shared bag. `main.ts` calls each slice's `wire*` function in order;
 * a slice reads what earlier slices put here and adds its own parts. Only daemon/ touches it.
 */
export interface Wiring {
  readonly config: Config;
  readonly log: Logger;
  readonly db: MetadataDB;
  readonly services: ServiceRegistry;
  readonly plugins: PluginInfo[];
  /** Set by wireEvents (first). */
  events?: EventPublisher;
  /** Set by wireContent. */
  contentBackend?: ContentBackend;
  /** Set by wireSnapshots: snapshotter name → GC hook. */
  snapshotCollectors: Map<string, SnapshotCollector>;
  /** Registered resources are released in reverse order on shutdown. */
  onClose(fn: () => Promise<void> | void): void;
  /** Runs when shutdown starts, before the server drains (end never-ending streams such as Subscribe). */
  onShutdown(fn: () => Promise<void> | void): void;
  /**
   * Slices expose typed objects to later slices by name. Known names:
   *   'content' → ContentStore (src/content/types.ts), set by wireContent
   *   'gc'      → { collect(): Promise<void>; schedule(): void }, set by wireMetadata
   */
  parts: Map<string, unknown>;
}
