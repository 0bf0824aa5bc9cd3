/**
 * The .proto text parsed at run time (protobufjs) and grpc-js clients made from it by
 * proto-loader: for tests, benchmarks and tools that need reflection over the protos (walking a
 * request type's fields) or proto-loader's objects. berthd, the client library and the CLI use
 * the generated code (src/api/index.ts) instead and never load this file
 * (test/api/daemon-modules.test.ts checks the daemon).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
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
