import { join } from 'node:path';
import type { ContentStore } from '../content/types';
import type { LayerDiffer } from '../diff';
import { LocalEngine, Records, type ContainerRecords, type LayerApplier, type NamespaceLister, type StoredRecord } from '../engine';
import type { EventExchange } from '../events/exchange';
import type { ImageStore } from '../images';
import { EngineContainerStore } from '../metadata/engine-containers';
import type { LeaseStore } from '../metadata/leases';
import type { NamespacedSnapshotter } from '../metadata/snapshots';
import type { TaskManager } from '../tasks';
import { helperPath } from '../tasks/helper';
import type { Wiring } from './wiring';

/**
 * The engine slice (berth's Docker-like engine, src/engine): built from the parts the earlier
 * slices expose, its records under `<root>/engine` and in the metadata DB. It runs after the tasks
 * slice, so the containers that ran on are followed again before the socket is bound. Exposes
 * part 'engine' (LocalEngine); its gRPC service comes with the engine API's wire types.
 */
export async function wireEngine(w: Wiring): Promise<void> {
  const part = <T>(name: string): T => {
    const p = w.parts.get(name);
    if (p === undefined) throw new Error(`engine: part '${name}' is not wired`);
    return p as T;
  };
  const log = w.log.child({ component: 'engine' });
  const engine = new LocalEngine({
    records: new Records(new EngineContainerStore<StoredRecord>(w.db), join(w.config.root, 'engine')),
    containers: part<ContainerRecords>('containers'),
    namespaces: part<NamespaceLister>('namespaces'),
    images: part<ImageStore>('images'),
    content: part<ContentStore>('content'),
    leases: part<LeaseStore>('leases'),
    snapshotters: part<ReadonlyMap<string, NamespacedSnapshotter>>('snapshotters'),
    snapshotter: w.config.defaultSnapshotter,
    tasks: part<TaskManager>('tasks'),
    applier: part<LayerApplier>('applier'),
    differ: w.parts.get('differ') as LayerDiffer | undefined,
    events: w.parts.get('events') as EventExchange | undefined,
    helperPath: helperPath(),
    log,
  });
  const restored = await engine.restore();
  if (restored.running || restored.exited || restored.cleaned) log.info('engine containers restored', restored);
  w.parts.set('engine', engine);
}
