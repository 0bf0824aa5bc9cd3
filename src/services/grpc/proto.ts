import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';

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

let cached: { definition: protoLoader.PackageDefinition; grpcObject: grpc.GrpcObject; root: protobuf.Root } | undefined;

export function protos() {
  if (!cached) {
    const files = listProtos(PROTO_ROOT);
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(PROTO_ROOT, target));
    root.loadSync(files, { keepCase: true });
    root.resolveAll();
    // Parse the .proto text once (it dominates start-up) and hand the same tree to proto-loader.
    const definition = protoLoader.fromJSON(root.toJSON(), LOADER_OPTIONS);
    const grpcObject = grpc.loadPackageDefinition(definition);
    cached = { definition, grpcObject, root };
  }
  return cached;
}

/** A service definition by full name, e.g. `containerd.services.content.v1.Content`. */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  const def = protos().definition[fullName] as grpc.ServiceDefinition | undefined;
  if (!def || typeof def !== 'object' || !Object.values(def).every((m) => typeof m === 'object' && m && 'path' in m)) {
    throw new Error(`no service ${fullName} in proto/`);
  }
  return def;
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
  const type = protos().root.lookupType(fullName);
  const err = type.verify(message);
  if (err) throw new Error(`packAny ${fullName}: ${err}`);
  return { type_url: fullName, value: Buffer.from(type.encode(type.fromObject(message)).finish()) };
}

export function unpackAny<T = Record<string, unknown>>(any: AnyValue): T {
  const name = any.type_url.replace(/^.*\//, '');
  const type = protos().root.lookupType(name);
  return type.toObject(type.decode(any.value), { longs: String, enums: String, defaults: true }) as T;
}
