/** Public surface of the engine slice (layer L5): Docker's container semantics in berthd. */
export { LocalEngine } from './engine';
export { Records } from './records';
export { LogLines } from './logs/lines';
export type { EngineDeps, ContainerRecords, NamespaceLister } from './deps';
export type { LayerDiffer } from './commit';
export type { LayerApplier } from './unpack';
export type { StoredRecord } from './record';
export { ENGINE_EVENT_TYPE, ENGINE_TOPIC_PREFIX } from './events';
export { normalizeReference, familiarName } from './image';
export type * from './types';
