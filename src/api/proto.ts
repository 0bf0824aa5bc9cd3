/**
 * The protos as berthd serves them: every service's methods with their generated (de)serializers
 * and Any packing, from the code generated out of proto/ at build time (no .proto text is parsed
 * at start). The same as src/api/index.ts exports for clients; kept under this name for the
 * server's registry and the event exchange.
 */
export { isServiceName, serverMethods, serviceNames } from './descriptors';
export { packAny, unpackAny } from './any';
export type { AnyValue } from './any';
