import type { ServiceImpl } from '../transport';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import type { Container } from '../containers';
import type { ContainerStore } from '../metadata/containers';
import { containerFromProto, containerToProto } from './convert/containers';
import { required } from './convert/common';
import { requireNamespace } from './grpc/context';
import { serverStream, unary, writeMessage } from './grpc/handlers';
import type { Api } from './grpc/api-types';

export const CONTAINERS_SERVICE = 'containerd.services.containers.v1.Containers' as const;

type T = Api<typeof CONTAINERS_SERVICE>;

/**
 * Thin adapter over ContainerStore; publishes /containers/* events. `onCreated` runs after each
 * Create (the tasks slice validates the new spec ahead of Tasks/Create: TaskManager.warmSpec).
 */
export function containersService(
  store: ContainerStore,
  events: EventPublisher | undefined,
  log: Logger,
  onCreated?: (ns: string, c: Container) => void,
): ServiceImpl {
  return {
    Get: unary(log, 'Containers/Get', async (req: T['Get']['req'], ctx): Promise<T['Get']['res']> => ({
      container: containerToProto(await store.get(requireNamespace(ctx), req.id)),
    })),
    List: unary(log, 'Containers/List', async (req: T['List']['req'], ctx): Promise<T['List']['res']> => ({
      containers: (await store.list(requireNamespace(ctx), req.filters)).map(containerToProto),
    })),
    ListStream: serverStream(log, 'Containers/ListStream', async (req: T['ListStream']['req'], ctx, call) => {
      for (const c of await store.list(requireNamespace(ctx), req.filters)) await writeMessage(call, { container: containerToProto(c) });
    }),
    Create: unary(log, 'Containers/Create', async (req: T['Create']['req'], ctx): Promise<T['Create']['res']> => {
      const c = await store.create(requireNamespace(ctx), containerFromProto(required(req.container, 'container: must be set')));
      events?.publish(ctx.ns, '/containers/create', 'containerd.events.ContainerCreate', {
        id: c.id,
        image: c.image,
        runtime: { name: c.runtime.name, options: containerToProto(c).runtime?.options },
      });
      onCreated?.(ctx.ns, c);
      return { container: containerToProto(c) };
    }),
    Update: unary(log, 'Containers/Update', async (req: T['Update']['req'], ctx): Promise<T['Update']['res']> => {
      const c = await store.update(requireNamespace(ctx), containerFromProto(required(req.container, 'container: must be set')), req.update_mask ?? []);
      events?.publish(ctx.ns, '/containers/update', 'containerd.events.ContainerUpdate', {
        id: c.id,
        image: c.image,
        labels: c.labels,
        snapshot_key: c.snapshotKey,
      });
      return { container: containerToProto(c) };
    }),
    Delete: unary(log, 'Containers/Delete', async (req: T['Delete']['req'], ctx): Promise<T['Delete']['res']> => {
      await store.delete(requireNamespace(ctx), req.id);
      events?.publish(ctx.ns, '/containers/delete', 'containerd.events.ContainerDelete', { id: req.id });
      return {};
    }),
  };
}
