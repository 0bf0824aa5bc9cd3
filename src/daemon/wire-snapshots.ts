import { join } from 'node:path';
import { NamespacedSnapshotter } from '../metadata/snapshots';
import { NativeSnapshotter } from '../snapshotter/native';
import { OverlaySnapshotter } from '../snapshotter/overlay';
import type { Snapshotter } from '../snapshotter/types';
import { SNAPSHOTS_SERVICE, snapshotsService } from '../services/snapshots';
import type { Wiring } from './wiring';

export const SNAPSHOTTER_PLUGIN_TYPE = 'io.containerd.snapshotter.v1';

/**
 * Opens the `overlayfs` and `native` snapshotters under `<root>/snapshots/<name>`, wraps each in
 * its namespaced view, registers the GC collectors and the Snapshots service.
 * Exposes `parts.get('snapshotters')` → Map<name, NamespacedSnapshotter> (diff and tasks use it).
 */
export async function wireSnapshots(w: Wiring): Promise<void> {
  const log = w.log.child({ component: 'snapshots' });
  // Removed snapshots' trees are deleted by the tasks' helper launcher once it runs (wired later).
  const offloadRemoval = (dir: string) => (w.parts.get('tasks') as { offloadRemoval(dir: string): boolean } | undefined)?.offloadRemoval(dir) ?? false;
  const backends: Array<[string, () => Promise<Snapshotter>]> = [
    ['overlayfs', () => OverlaySnapshotter.open(join(w.config.root, 'snapshots', 'overlayfs'), { log, offloadRemoval })],
    ['native', () => NativeSnapshotter.open(join(w.config.root, 'snapshots', 'native'), { log, offloadRemoval })],
  ];
  const snapshotters = new Map<string, NamespacedSnapshotter>();
  for (const [name, open] of backends) {
    const backend = await open();
    w.onClose(() => backend.close());
    const ns = new NamespacedSnapshotter(name, w.db, backend);
    snapshotters.set(name, ns);
    w.snapshotCollectors.set(name, ns.collector(log));
    w.plugins.push({ type: SNAPSHOTTER_PLUGIN_TYPE, id: name, exports: { root: join(w.config.root, 'snapshots', name) } });
  }
  if (!snapshotters.has(w.config.defaultSnapshotter)) {
    throw new Error(`config: defaultSnapshotter ${JSON.stringify(w.config.defaultSnapshotter)} is not one of ${[...snapshotters.keys()].join(', ')}`);
  }
  w.parts.set('snapshotters', snapshotters);
  // A removal can leave parents (and the content whose gc.ref labels point at them) unreferenced:
  // schedule a collection, as containerd does after every metadata delete.
  const scheduleGc = () => (w.parts.get('gc') as { schedule(): void } | undefined)?.schedule();
  w.services.add(SNAPSHOTS_SERVICE, snapshotsService({ log, snapshotters, events: w.events, onRemoved: scheduleGc }));
}
