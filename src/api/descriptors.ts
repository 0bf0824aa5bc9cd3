/**
 * Typed method descriptors over the generated code (src/api/gen, from proto/ by
 * scripts/gen-api.js). One descriptor per method: its path, streaming kinds and the message
 * codecs, for berthd's server (ServerMethod, which the transport takes as its MethodDef),
 * berth's client channel and a typed client alike.
 * Nothing here parses .proto text: the daemon loads compiled code only.
 */
import { SERVICE_DEFINITIONS, type ServiceName } from './gen';
import { decodeLogBatch } from './log-batch';

export type { ServiceName };

/** What ts-proto generates for each message (encode/decode on @bufbuild/protobuf's wire format). */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromPartial(object: DeepPartial<T>): T;
}

/** Every field optional, recursively (what `fromPartial` accepts). */
export type DeepPartial<T> = T extends Buffer | Uint8Array | string | number | boolean | undefined
  ? T
  : T extends Array<infer U>
    ? Array<DeepPartial<U>>
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

type Definition<N extends ServiceName> = ReturnType<(typeof SERVICE_DEFINITIONS)[N]>;
type GenMethodOf<N extends ServiceName> = Definition<N> extends { methods: infer Ms } ? Ms[keyof Ms] : never;
type CodecType<C> = C extends { decode(input: Uint8Array): infer T } ? T : never;

/** Method names of a service, as in the proto (`Get`, `ListStream`). */
export type MethodName<N extends ServiceName> = GenMethodOf<N> extends infer X ? (X extends { name: infer S extends string } ? S : never) : never;
type GenMethod<N extends ServiceName, M extends string> = Extract<GenMethodOf<N>, { name: M }>;
export type RequestOf<N extends ServiceName, M extends MethodName<N>> = GenMethod<N, M> extends { requestType: infer C } ? CodecType<C> : never;
export type ResponseOf<N extends ServiceName, M extends MethodName<N>> = GenMethod<N, M> extends { responseType: infer C } ? CodecType<C> : never;

export interface MethodDescriptor<Req, Res> {
  /** `/package.Service/Method`, the HTTP/2 :path. */
  readonly path: string;
  readonly name: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  encodeRequest(req: Req): Buffer;
  /** A complete request from the fields given (the rest take their proto defaults). */
  fromPartialRequest(req: DeepPartial<Req>): Req;
  decodeRequest(body: Uint8Array): Req;
  encodeResponse(res: Res): Buffer;
  decodeResponse(body: Uint8Array): Res;
}

export interface ServiceDescriptor<N extends ServiceName> {
  readonly fullName: N;
  readonly methods: { readonly [M in MethodName<N>]: MethodDescriptor<RequestOf<N, M>, ResponseOf<N, M>> };
}

/** The encoded bytes as a Buffer over the writer's array (no copy). */
function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

interface AnyGenMethod {
  name: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: MessageCodec<unknown>;
  responseType: MessageCodec<unknown>;
}

/** Responses decoded by hand where the generated decoder costs too much (see each module). */
const RESPONSE_DECODERS: Record<string, (b: Uint8Array, generated: (b: Uint8Array) => unknown) => unknown> = {
  '/berth.engine.v1.Engine/Logs': decodeLogBatch,
};

function describe(fullName: string, m: AnyGenMethod): MethodDescriptor<unknown, unknown> {
  const req = m.requestType;
  const res = m.responseType;
  const path = `/${fullName}/${m.name}`;
  return {
    path,
    name: m.name,
    requestStream: m.requestStream,
    responseStream: m.responseStream,
    encodeRequest: (v) => asBuffer(req.encode(v).finish()),
    fromPartialRequest: (v) => req.fromPartial(v),
    decodeRequest: (b) => req.decode(b),
    encodeResponse: (v) => asBuffer(res.encode(v).finish()),
    decodeResponse: RESPONSE_DECODERS[path] ? (b) => RESPONSE_DECODERS[path]!(b, (x) => res.decode(x)) : (b) => res.decode(b),
  };
}

const cache = new Map<string, ServiceDescriptor<ServiceName>>();

export function isServiceName(name: string): name is ServiceName {
  return Object.prototype.hasOwnProperty.call(SERVICE_DEFINITIONS, name);
}

/** A service's typed descriptor by full name (its generated file is loaded on first use). */
export function service<N extends ServiceName>(fullName: N): ServiceDescriptor<N> {
  let d = cache.get(fullName);
  if (!d) {
    if (!isServiceName(fullName)) throw new Error(`no service ${fullName} in proto/`);
    const def = SERVICE_DEFINITIONS[fullName]() as unknown as { methods: Record<string, AnyGenMethod> };
    const methods: Record<string, MethodDescriptor<unknown, unknown>> = {};
    for (const m of Object.values(def.methods)) methods[m.name] = describe(fullName, m);
    d = { fullName, methods } as unknown as ServiceDescriptor<ServiceName>;
    cache.set(fullName, d);
  }
  return d as unknown as ServiceDescriptor<N>;
}

/** Full names of every service in proto/. */
export function serviceNames(): ServiceName[] {
  return (Object.keys(SERVICE_DEFINITIONS) as ServiceName[]).sort();
}

/** A service's methods as the server registers them (keyed by method name). */
/** One method as a server needs it (the transport's MethodDef has this shape; api/ does not import it). */
export interface ServerMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
}

export function serverMethods(fullName: string): Record<string, ServerMethod> {
  if (!isServiceName(fullName)) throw new Error(`no service ${fullName} in proto/`);
  const out: Record<string, ServerMethod> = {};
  for (const [name, m] of Object.entries(service(fullName).methods) as Array<[string, MethodDescriptor<unknown, unknown>]>) {
    out[name] = {
      path: m.path,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestDeserialize: m.decodeRequest,
      responseSerialize: m.encodeResponse,
    };
  }
  return out;
}
