/**
 * The transport's public surface (layer L1: it imports only core/ and Node's built-ins). Services
 * use the call interface and the status codes; the daemon creates the server; clients use the
 * channel. Nothing outside src/transport/ imports its other files.
 */
export type {
  GrpcServerOptions,
  Handler,
  MetadataReader,
  MethodDef,
  RequestFramer,
  ServerCall,
  ServiceImpl,
  StatusLike,
  StreamHandler,
  UnaryCallback,
  UnaryHandler,
} from './grpc/call-interface';
export { Status, type StatusCode } from './grpc/codes';
export { KIND_TO_STATUS, kindOfStatus } from './grpc/error-kinds';
export { GrpcServer } from './grpc/server';
export { H2Channel, ClientStream, type CallStatus } from './grpc/client-channel';
