/**
 * berth.engine.v1.Engine's Network* methods (engine.ts serves the rest). Networks are berthd's,
 * not a namespace's, as Docker's are the daemon's: the namespace header is optional here; connect
 * and disconnect name a container, so they need one.
 */
import type { ServiceImpl } from '../transport';
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Engine } from '../engine';
import { filtersFromProto } from './convert/engine';
import { networkCreateFromProto, networkToProto } from './convert/engine-network';
import type { Api } from './grpc/api-types';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import type { ENGINE_SERVICE } from './engine';

type T = Api<typeof ENGINE_SERVICE>;

const EMPTY = {};

function named(network: string, method: string): string {
  if (!network) throw invalidArgument(`${method}: network must be set (a name, an id or an id prefix)`);
  return network;
}

export function engineNetworkMethods(engine: Engine, log: Logger): ServiceImpl {
  const ns = requireNamespace;
  return {
    NetworkCreate: unary(log, 'Engine/NetworkCreate', async (req: T['NetworkCreate']['req'], ctx: Ctx): Promise<T['NetworkCreate']['res']> => {
      if (!req.name) throw invalidArgument('Engine/NetworkCreate: name must be set');
      return networkToProto(await engine.createNetwork(ctx, networkCreateFromProto(req)));
    }),
    NetworkInspect: unary(log, 'Engine/NetworkInspect', async (req: T['NetworkInspect']['req'], ctx: Ctx): Promise<T['NetworkInspect']['res']> => {
      return networkToProto(await engine.inspectNetwork(ctx, named(req.network, 'Engine/NetworkInspect')));
    }),
    NetworkList: unary(log, 'Engine/NetworkList', async (req: T['NetworkList']['req'], ctx: Ctx): Promise<T['NetworkList']['res']> => ({
      networks: (await engine.listNetworks(ctx, { filters: filtersFromProto(req.filters) })).map(networkToProto),
    })),
    NetworkRemove: unary(log, 'Engine/NetworkRemove', async (req: T['NetworkRemove']['req'], ctx: Ctx): Promise<T['NetworkRemove']['res']> => {
      await engine.removeNetwork(ctx, named(req.network, 'Engine/NetworkRemove'));
      return EMPTY;
    }),
    NetworkPrune: unary(log, 'Engine/NetworkPrune', async (req: T['NetworkPrune']['req'], ctx: Ctx): Promise<T['NetworkPrune']['res']> => ({
      removed: await engine.pruneNetworks(ctx, filtersFromProto(req.filters)),
    })),
    NetworkConnect: unary(log, 'Engine/NetworkConnect', async (req: T['NetworkConnect']['req'], ctx: Ctx): Promise<T['NetworkConnect']['res']> => {
      if (!req.container) throw invalidArgument('Engine/NetworkConnect: container must be set');
      await engine.connect(ns(ctx), named(req.network, 'Engine/NetworkConnect'), req.container, {
        ...(req.ip ? { ip: req.ip } : {}),
        ...(req.aliases.length ? { aliases: req.aliases } : {}),
      });
      return EMPTY;
    }),
    NetworkDisconnect: unary(log, 'Engine/NetworkDisconnect', async (req: T['NetworkDisconnect']['req'], ctx: Ctx): Promise<T['NetworkDisconnect']['res']> => {
      if (!req.container) throw invalidArgument('Engine/NetworkDisconnect: container must be set');
      if (req.ip || req.aliases.length) throw invalidArgument('Engine/NetworkDisconnect: ip and aliases are for connect');
      await engine.disconnect(ns(ctx), named(req.network, 'Engine/NetworkDisconnect'), req.container);
      return EMPTY;
    }),
  };
}
