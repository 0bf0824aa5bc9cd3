/**
 * Unary RPC latency under load: 64 clients, each on its own connection, each issuing Version calls
 * back to back; one sample per call.
 */
import type * as grpc from '@grpc/grpc-js';
import { client, unary, VERSION_SERVICE } from '../grpc';
import type { SideName, Workload } from '../workload';

const CLIENTS = 64;
const pools = new Map<SideName, grpc.Client[]>();

export const versionLatencyWorkload: Workload = {
  name: 'rpc-version-64',
  description: `Version RPC latency, ${CLIENTS} concurrent clients`,
  unit: 'ms',
  better: 'lower',
  async setup(side) {
    const cs = Array.from({ length: CLIENTS }, () => client(side.daemon.address, VERSION_SERVICE));
    await Promise.all(cs.map((c) => unary(c, 'Version', {}))); // connect + warm up
    pools.set(side.name, cs);
  },
  async sample(side, env) {
    const cs = pools.get(side.name)!;
    const perClient = env.quick ? 10 : 40;
    const lat: number[] = [];
    await Promise.all(
      cs.map(async (c) => {
        for (let i = 0; i < perClient; i++) {
          const t0 = process.hrtime.bigint();
          await unary(c, 'Version', {});
          lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
    return lat;
  },
  async teardown(side) {
    for (const c of pools.get(side.name) ?? []) c.close();
    pools.delete(side.name);
  },
};
