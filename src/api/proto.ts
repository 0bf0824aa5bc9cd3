import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import type { MethodDef } from '../transport/grpc/call';

/** proto/ sits at the package root; walk up from here (src/, dist/ or dist-bench/src/) to find it. */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return dir;
    if (dirname(dir) === dir) throw new Error(`berth: no proto/ directory above ${from}`);
  }
}
export const PROTO_ROOT = join(findPackageRoot(__dirname), 'proto');

function listProtos(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listProtos(p));
    else if (name.endsWith('.proto')) out.push(relative(PROTO_ROOT, p));
  }
  return out.sort();
}

// Options from ctr-interop.md §1.2: keepCase, longs as String (cgroup counters exceed 2^53),
// never `json: true` (it would rewrite Any values).
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let rootCache: protobuf.Root | undefined;

/** Every .proto under proto/, parsed once (protobufjs only: what the server needs). */
export function protoRoot(): protobuf.Root {
  if (!rootCache) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(PROTO_ROOT, target));
    root.loadSync(listProtos(PROTO_ROOT), { keepCase: true });
    root.resolveAll();
    rootCache = root;
  }
  return rootCache;
}

/** toObject options equal to proto-loader's (LOADER_OPTIONS), so server and clients see the same objects. */
const OBJECT_OPTIONS: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

const methodsCache = new Map<string, Record<string, MethodDef>>();

/**
 * A service's methods as the server registers them: path, streaming kinds and the same
 * (de)serializers proto-loader would make, built straight from the parsed tree. The daemon thus
 * loads neither proto-loader (its descriptor building was ~100 ms of start-up) nor grpc-js.
 */
export function serverMethods(fullName: string): Record<string, MethodDef> {
  let out = methodsCache.get(fullName);
  if (out) return out;
  let svc: protobuf.Service;
  try {
    svc = protoRoot().lookupService(fullName);
  } catch {
    throw new Error(`no service ${fullName} in proto/`);
  }
  out = {};
  for (const m of svc.methodsArray) {
    const req = m.resolvedRequestType!;
    const res = m.resolvedResponseType!;
    out[m.name] = {
      path: `/${fullName}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), OBJECT_OPTIONS),
      responseSerialize: (v: unknown) => res.encode(res.fromObject(v as Record<string, unknown>)).finish() as Buffer,
    };
  }
  methodsCache.set(fullName, out);
  return out;
}

/** Full names of every service in proto/. */
export function serviceNames(): string[] {
  const out: string[] = [];
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Service) out.push(o.fullName.replace(/^\./, ''));
      else if (o instanceof protobuf.Namespace) walk(o);
    }
  };
  walk(protoRoot());
  return out.sort();
}

let cached: { definition: protoLoader.PackageDefinition; grpcObject: grpc.GrpcObject; root: protobuf.Root } | undefined;

/** proto-loader's definitions and grpc-js's client constructors, for clients (loaded on first use). */
export function protos() {
  if (!cached) {
    // Required here, not at the top: berthd itself never needs them.
    const loader = require('@grpc/proto-loader') as typeof protoLoader;
    const grpcJs = require('@grpc/grpc-js') as typeof grpc;
    const root = protoRoot();
    const definition = loader.fromJSON(root.toJSON(), LOADER_OPTIONS);
    cached = { definition, grpcObject: grpcJs.loadPackageDefinition(definition), root };
  }
  return cached;
}

/** A client constructor by full service name (client library and tests). */
export function serviceClient(fullName: string): grpc.ServiceClientConstructor {
  let obj: unknown = protos().grpcObject;
  for (const part of fullName.split('.')) obj = (obj as Record<string, unknown>)[part];
  if (typeof obj !== 'function') throw new Error(`no service client ${fullName}`);
  return obj as grpc.ServiceClientConstructor;
}

export interface AnyValue {
  type_url: string;
  value: Buffer;
}

/**
 * Encodes a message as a protobuf Any with a **bare** type URL (`containerd.events.TaskExit`),
 * as containerd's typeurl does; a `type.googleapis.com/` prefix makes ctr drop the event.
 */
export function packAny(fullName: string, message: Record<string, unknown>): AnyValue {
  const type = protoRoot().lookupType(fullName);
  const err = type.verify(message);
  if (err) throw new Error(`packAny ${fullName}: ${err}`);
  return { type_url: fullName, value: Buffer.from(type.encode(type.fromObject(message)).finish()) };
}

export function unpackAny<T = Record<string, unknown>>(any: AnyValue): T {
  const name = any.type_url.replace(/^.*\//, '');
  const type = protoRoot().lookupType(name);
  return type.toObject(type.decode(any.value), { longs: String, enums: String, defaults: true }) as T;
}
