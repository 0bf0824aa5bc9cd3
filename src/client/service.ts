/**
 * One typed object per gRPC service, made from the generated definition on first use (a
 * process that only lists containers never loads the content service's code): each method by
 * its camelCase name (`client.images.list({})`), typed from proto/. Unary methods return a
 * promise, server streams an async iterable, client and bidirectional streams a DuplexCall.
 * Requests take any subset of their fields; the rest get their proto defaults.
 */
import { type DeepPartial, type MethodDescriptor, service, type ServiceName } from '../api/descriptors';
import { SERVICE_DEFINITIONS } from '../api/gen';
import { type CallOptions, type DuplexCall, duplexCall, type ResponseStream, serverStreamCall, type Transport, unaryCall } from './rpc';

type Definition<N extends ServiceName> = ReturnType<(typeof SERVICE_DEFINITIONS)[N]>;
type Methods<N extends ServiceName> = Definition<N> extends { methods: infer Ms } ? Ms : never;
type Msg<C> = C extends { decode(input: Uint8Array): infer T } ? T : never;

/** The client-side signature of one generated method. */
export type ClientMethod<M> = M extends { requestType: infer Q; responseType: infer R; requestStream: infer QS; responseStream: infer RS }
  ? QS extends true
    ? (opts?: CallOptions) => DuplexCall<Msg<Q>, Msg<R>>
    : RS extends true
      ? (req?: DeepPartial<Msg<Q>>, opts?: CallOptions) => ResponseStream<Msg<R>>
      : (req?: DeepPartial<Msg<Q>>, opts?: CallOptions) => Promise<Msg<R>>
  : never;

export type ServiceClient<N extends ServiceName> = { readonly [K in keyof Methods<N>]: ClientMethod<Methods<N>[K]> };

interface GenMethod {
  name: string;
  requestStream: boolean;
  responseStream: boolean;
}

export function serviceClient<N extends ServiceName>(t: Transport, name: N): ServiceClient<N> {
  const desc = service(name);
  const gen = (SERVICE_DEFINITIONS[name]() as unknown as { methods: Record<string, GenMethod> }).methods;
  const out: Record<string, unknown> = {};
  for (const [key, g] of Object.entries(gen)) {
    const m = (desc.methods as unknown as Record<string, MethodDescriptor<unknown, unknown>>)[g.name]!;
    if (g.requestStream) out[key] = (opts?: CallOptions) => duplexCall(t, m, opts);
    else if (g.responseStream) out[key] = (req?: DeepPartial<unknown>, opts?: CallOptions) => serverStreamCall(t, m, req ?? {}, opts);
    else out[key] = (req?: DeepPartial<unknown>, opts?: CallOptions) => unaryCall(t, m, req ?? {}, opts);
  }
  return Object.freeze(out) as ServiceClient<N>;
}
