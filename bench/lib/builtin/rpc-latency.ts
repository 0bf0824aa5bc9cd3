/**
 * Unary RPC latency under load: 64 clients, each on its own connection, each issuing the same call
 * back to back; one sample per call. Optionally populates a private namespace first (e.g. 1,000
 * images) and empties it afterwards, since the long-running daemons are shared by all workloads.
 */
import { createHash } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { client, implemented, unary } from '../grpc';
import type { Side, SideName, Workload } from '../workload';

export const CLIENTS = 64;

export interface RpcLatencySpec {
  name: string;
  description: string;
  service: string;
  method: string;
  request: unknown;
  /** Namespace the calls run in (also the one populate fills). */
  namespace?: string;
  /** Calls per client per round (full / --quick). */
  calls?: [number, number];
  /** Rounds, when the harness default is more than this needs (64 × calls samples per round). */
  rounds?: number;
  populate?(address: string, ns: string): Promise<void>;
  unpopulate?(address: string, ns: string): Promise<void>;
}

/** Runs `fn(i)` for i in [0, n) with at most `width` in flight. */
export async function parallel(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

export function rpcLatencyWorkload(spec: RpcLatencySpec): Workload {
  const pools = new Map<SideName, grpc.Client[]>();
  const ns = spec.namespace ?? 'default';
  const [full, quick] = spec.calls ?? [40, 10];
  return {
    name: spec.name,
    description: spec.description,
    unit: 'ms',
    better: 'lower',
    rounds: spec.rounds,
    supported: (side: Side) => implemented(side.daemon.address, spec.service, spec.method, spec.request),
    async setup(side) {
      if (spec.populate) await spec.populate(side.daemon.address, ns);
      const cs = Array.from({ length: CLIENTS }, () => client(side.daemon.address, spec.service));
      pools.set(side.name, cs);
      await Promise.all(cs.map((c) => unary(c, spec.method, spec.request, ns, 30000))); // connect + warm up
    },
    async sample(side, env) {
      const cs = pools.get(side.name)!;
      const lat: number[] = [];
      await Promise.all(
        cs.map(async (c) => {
          for (let i = 0; i < (env.quick ? quick : full); i++) {
            const t0 = process.hrtime.bigint();
            await unary(c, spec.method, spec.request, ns, 30000);
            lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
          }
        }),
      );
      return lat;
    },
    async teardown(side) {
      for (const c of pools.get(side.name) ?? []) c.close();
      pools.delete(side.name);
      if (spec.unpopulate) await spec.unpopulate(side.daemon.address, ns);
    },
  };
}

const IMAGES = 'containerd.services.images.v1.Images';
const CONTAINERS = 'containerd.services.containers.v1.Containers';
const NAMESPACES = 'containerd.services.namespaces.v1.Namespaces';
const N = 1000;

async function withClient<T>(address: string, service: string, fn: (c: grpc.Client) => Promise<T>): Promise<T> {
  const c = client(address, service);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

function fakeDigest(i: number): string {
  return `sha256:${createHash('sha256').update(`berth-bench-${i}`).digest('hex')}`;
}

async function dropNamespace(address: string, ns: string): Promise<void> {
  await withClient(address, NAMESPACES, (c) => unary(c, 'Delete', { name: ns }, ns).catch(() => undefined));
}

export const versionLatencyWorkload = rpcLatencyWorkload({
  name: 'rpc-version-64',
  description: `Version RPC latency, ${CLIENTS} concurrent clients`,
  service: 'containerd.services.version.v1.Version',
  method: 'Version',
  request: {},
});

export const imagesListLatencyWorkload = rpcLatencyWorkload({
  name: 'rpc-images-list-1k',
  description: `Images/List of ${N} images, ${CLIENTS} concurrent clients`,
  service: IMAGES,
  method: 'List',
  request: { filters: [] },
  namespace: 'bench-images-list',
  calls: [5, 2],
  rounds: 3,
  populate: (address, ns) =>
    withClient(address, IMAGES, (c) =>
      parallel(N, 32, (i) =>
        unary(
          c,
          'Create',
          {
            image: {
              name: `bench.local/library/img${i}:latest`,
              labels: { 'bench.berth/i': String(i) },
              target: { media_type: 'application/vnd.oci.image.manifest.v1+json', digest: fakeDigest(i), size: 1000 + i },
            },
          },
          ns,
        ).catch((e: grpc.ServiceError) => {
          if (e.code !== 6) throw e; // ALREADY_EXISTS from an earlier interrupted run is fine
        }),
      ),
    ),
  unpopulate: async (address, ns) => {
    await withClient(address, IMAGES, (c) =>
      parallel(N, 32, (i) => unary(c, 'Delete', { name: `bench.local/library/img${i}:latest` }, ns).catch(() => undefined)),
    );
    await dropNamespace(address, ns);
  },
});

export const containersListLatencyWorkload = rpcLatencyWorkload({
  name: 'rpc-containers-list-1k',
  description: `Containers/List of ${N} containers, ${CLIENTS} concurrent clients`,
  service: CONTAINERS,
  method: 'List',
  request: { filters: [] },
  namespace: 'bench-containers-list',
  calls: [5, 2],
  rounds: 3,
  populate: (address, ns) =>
    withClient(address, CONTAINERS, (c) =>
      parallel(N, 32, (i) =>
        unary(
          c,
          'Create',
          {
            container: {
              id: `bench-c${i}`,
              labels: { 'bench.berth/i': String(i) },
              image: 'docker.io/library/busybox:latest',
              runtime: { name: 'io.containerd.runc.v2' },
              spec: {
                type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec',
                value: Buffer.from(JSON.stringify({ ociVersion: '1.0.2-dev', process: { args: ['true'], cwd: '/' }, root: { path: 'rootfs' } })),
              },
            },
          },
          ns,
        ).catch((e: grpc.ServiceError) => {
          if (e.code !== 6) throw e;
        }),
      ),
    ),
  unpopulate: async (address, ns) => {
    await withClient(address, CONTAINERS, (c) => parallel(N, 32, (i) => unary(c, 'Delete', { id: `bench-c${i}` }, ns).catch(() => undefined)));
    await dropNamespace(address, ns);
  },
});
