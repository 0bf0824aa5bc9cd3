/**
 * berth's wire API: the types and descriptors generated from proto/ (src/api/gen, made by
 * scripts/gen-api.js at build time) and Any packing. What services, the client library and the
 * CLI import; the generated message interfaces are imported from their files under ./gen.
 */
export { service, serviceNames, serverMethods, isServiceName } from './descriptors';
export type { DeepPartial, MessageCodec, MethodDescriptor, MethodName, RequestOf, ResponseOf, ServiceDescriptor, ServiceName } from './descriptors';
export { codecOf, isMessageName, packAny, unpackAny } from './any';
export type { AnyValue, MessageName, MessageOf } from './any';
