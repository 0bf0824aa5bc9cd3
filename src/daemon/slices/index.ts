import type { Slice } from '../slice';
import { contentSlice } from './content';
import { contentServiceSlice } from './content-service';
import { diffSlice } from './diff';
import { engineSlice } from './engine';
import { eventsSlice } from './events';
import { gcSlice } from './gc';
import { introspectionSlice } from './introspection';
import { launcherSlice } from './launcher';
import { metadataSlice } from './metadata';
import { snapshotsServiceSlice } from './snapshots-service';
import { snapshottersSlice } from './snapshotters';
import { tasksSlice } from './tasks';
import { transferSlice } from './transfer';
import { volumesSlice } from './volumes';

/**
 * berthd's slices. The wiring order is computed from what each requires (compose.ts); this order
 * only breaks ties, so it is also the order of the Introspection/Plugins list.
 */
export const SLICES: readonly Slice[] = [
  eventsSlice,
  introspectionSlice,
  contentSlice,
  launcherSlice,
  snapshottersSlice,
  gcSlice,
  metadataSlice,
  contentServiceSlice,
  snapshotsServiceSlice,
  diffSlice,
  tasksSlice,
  volumesSlice,
  engineSlice,
  transferSlice,
];
