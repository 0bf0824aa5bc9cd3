/** Container networking for the engine: networks (CNI bridge), sandboxes, published ports, names. */
export { NetworkManager, type NetworkManagerOptions, type EtcPaths, type ContainerRef } from './manager';
export { formatPorts, parsePublish } from './ports';
export type * from './types';
export { DEFAULT_NETWORK } from './types';
