import type { Logger } from '../core/logger';
import type { MetadataDB } from '../metadata/db';
import type { ServiceRegistry } from '../services/grpc/registry';
import type { Config } from './config';

/** One entry of Introspection/Plugins (containerd's plugin listing). */
export interface PluginInfo {
  type: string; // e.g. io.containerd.content.v1
  id: string; // e.g. content
  requires?: string[];
  exports?: Record<string, string>;
  capabilities?: string[];
}

/**
 * A typed key for something one slice provides and others require, e.g.
 * `new Part<NamespacedContentStore>('content')`. Each key keeps its own values, one per daemon
 * (by that daemon's Parts), so reading a part back is typed without a cast and without a shared
 * `Map<string, unknown>`.
 */
export class Part<T> {
  private readonly values = new WeakMap<Parts, { value: T }>();
  constructor(readonly name: string) {}

  /** Parts' storage; use Parts.get/set. */
  read(parts: Parts): { value: T } | undefined {
    return this.values.get(parts);
  }
  write(parts: Parts, value: T): void {
    this.values.set(parts, { value });
  }
}

/** The parts one daemon's slices provided, by their typed keys. */
export class Parts {
  has(p: Part<unknown>): boolean {
    return p.read(this) !== undefined;
  }

  get<T>(p: Part<T>): T {
    const box = p.read(this);
    if (!box) throw new Error(`part '${p.name}' is not wired`);
    return box.value;
  }

  set<T>(p: Part<T>, value: T): void {
    if (this.has(p)) throw new Error(`part '${p.name}' is provided twice`);
    p.write(this, value);
  }
}

/** What a slice's wire() gets: the daemon's fixed context and its declared parts. */
export interface SliceContext {
  readonly config: Config;
  readonly log: Logger;
  readonly db: MetadataDB;
  readonly services: ServiceRegistry;
  /** A part this slice `requires` (anything else throws: requires is the contract, not a comment). */
  need<T>(p: Part<T>): T;
  /** Sets a part this slice `provides`. */
  provide<T>(p: Part<T>, value: T): void;
  /** The Introspection/Plugins list, complete once every slice is wired (read it at call time). */
  plugins(): readonly PluginInfo[];
  /** Released in reverse wiring order once the server has drained. */
  onClose(fn: () => Promise<void> | void): void;
  /** Runs in reverse wiring order when shutdown starts, before the server drains (end never-ending streams). */
  onShutdown(fn: () => Promise<void> | void): void;
}

/**
 * One slice of berthd: what it requires and provides (typed keys), what Introspection lists for
 * it, and wire(), which builds its objects and registers its services. The daemon wires slices in
 * an order computed from `requires` (compose.ts); a cycle is an error at start-up. Adding a slice
 * is one file under slices/ plus its line in slices/index.ts.
 */
export interface Slice {
  readonly name: string;
  readonly requires: readonly Part<unknown>[];
  readonly provides: readonly Part<unknown>[];
  /** This slice's Introspection/Plugins entries. */
  plugins(config: Config): readonly PluginInfo[];
  wire(ctx: SliceContext): Promise<void> | void;
}
