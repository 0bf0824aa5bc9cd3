import { SNAPSHOTS_SERVICE, snapshotsService } from '../../services/snapshots';
import type { Slice } from '../slice';
import { EVENTS } from './events';
import { GC } from './gc';
import { SNAPSHOTTERS } from './snapshotters';

/**
 * The Snapshots service. A removal can leave parents (and the content whose gc.ref labels point
 * at them) unreferenced: it schedules a collection, as containerd does after every metadata delete.
 */
export const snapshotsServiceSlice: Slice = {
  name: 'snapshots-service',
  requires: [SNAPSHOTTERS, EVENTS, GC],
  provides: [],
  plugins: () => [],
  wire(ctx) {
    const gc = ctx.need(GC);
    ctx.services.add(
      SNAPSHOTS_SERVICE,
      snapshotsService({
        log: ctx.log.child({ component: 'snapshots' }),
        snapshotters: ctx.need(SNAPSHOTTERS),
        events: ctx.need(EVENTS),
        onRemoved: () => gc.schedule(),
      }),
    );
  },
};
