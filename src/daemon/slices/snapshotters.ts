import { join } from 'node:path';
import { NamespacedSnapshotter } from '../../metadata/snapshots';
import type { DirSnapshotterOptions } from '../../snapshotter/dir-snapshotter';
import { NativeSnapshotter } from '../../snapshotter/native';
import { OverlaySnapshotter } from '../../snapshotter/overlay';
import type { Snapshotter } from '../../snapshotter/types';
import type { Config } from '../config';
import { Part, type Slice } from '../slice';
import { LAUNCHER } from './launcher';

export const SNAPSHOTTER_PLUGIN_TYPE = 'io.containerd.snapshotter.v1';

/** The namespaced snapshotters by name (diff, tasks and the Snapshots service use them; GC collects them). */
export const SNAPSHOTTERS = new Part<ReadonlyMap<string, NamespacedSnapshotter>>('snapshotters');

type Open = (root: string, opts: DirSnapshotterOptions) => Promise<Snapshotter>;
const BACKENDS: ReadonlyArray<[string, Open]> = [
  ['overlayfs', (root, opts) => OverlaySnapshotter.open(root, opts)],
  ['native', (root, opts) => NativeSnapshotter.open(root, opts)],
];
const rootOf = (config: Config, name: string) => join(config.root, 'snapshots', name);

/** Opens the `overlayfs` and `native` snapshotters under `<root>/snapshots/<name>`, each in its namespaced view. */
export const snapshottersSlice: Slice = {
  name: 'snapshotters',
  requires: [LAUNCHER],
  provides: [SNAPSHOTTERS],
  plugins: (config) => BACKENDS.map(([name]) => ({ type: SNAPSHOTTER_PLUGIN_TYPE, id: name, exports: { root: rootOf(config, name) } })),
  async wire(ctx) {
    const log = ctx.log.child({ component: 'snapshots' });
    const launcher = ctx.need(LAUNCHER);
    // Removed snapshots' trees are deleted by the helper launcher once it runs.
    const offloadRemoval = (dir: string) => launcher?.removeTree(dir) ?? false;
    const snapshotters = new Map<string, NamespacedSnapshotter>();
    for (const [name, open] of BACKENDS) {
      const backend = await open(rootOf(ctx.config, name), { log, offloadRemoval });
      ctx.onClose(() => backend.close());
      snapshotters.set(name, new NamespacedSnapshotter(name, ctx.db, backend));
    }
    if (!snapshotters.has(ctx.config.defaultSnapshotter)) {
      throw new Error(`config: defaultSnapshotter ${JSON.stringify(ctx.config.defaultSnapshotter)} is not one of ${[...snapshotters.keys()].join(', ')}`);
    }
    ctx.provide(SNAPSHOTTERS, snapshotters);
  },
};
