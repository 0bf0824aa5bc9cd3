import type { ServiceImpl } from '../transport/grpc/server';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import type { Container } from '../containers';
import type { ContainerStore } from '../metadata/containers';
import { containerFromProto, containerToProto, type ContainerProto } from './convert/containers';
import type { FieldMask } from './convert/common';
import { requireNamespace } from './grpc/context';
import { serverStream, unary, writeMessage } from './grpc/handlers';

export const CONTAINERS_SERVICE = 'containerd.services.containers.v1.Containers';

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
  const need = (c: ContainerProto | null | undefined): ContainerProto => {
    if (!c) throw invalidArgument('container: must be set');
    return c;
  };
  return {
    Get: unary(log, 'Containers/Get', async (req: { id: string }, ctx) => ({ container: containerToProto(await store.get(requireNamespace(ctx), req.id)) })),
    List: unary(log, 'Containers/List', async (req: { filters: string[] }, ctx) => ({
      containers: (await store.list(requireNamespace(ctx), req.filters)).map(containerToProto),
    })),
    ListStream: serverStream(log, 'Containers/ListStream', async (req: { filters: string[] }, ctx, call) => {
      for (const c of await store.list(requireNamespace(ctx), req.filters)) await writeMessage(call, { container: containerToProto(c) });
    }),
    Create: unary(log, 'Containers/Create', async (req: { container: ContainerProto }, ctx) => {
      const c = await store.create(requireNamespace(ctx), containerFromProto(need(req.container)));
      events?.publish(ctx.ns, '/containers/create', 'containerd.events.ContainerCreate', {
        id: c.id,
        image: c.image,
        runtime: { name: c.runtime.name, options: containerToProto(c).runtime?.options ?? undefined },
      });
      onCreated?.(ctx.ns, c);
      return { container: containerToProto(c) };
    }),
    Update: unary(log, 'Containers/Update', async (req: { container: ContainerProto; update_mask: FieldMask | null }, ctx) => {
      const c = await store.update(requireNamespace(ctx), containerFromProto(need(req.container)), req.update_mask?.paths ?? []);
      events?.publish(ctx.ns, '/containers/update', 'containerd.events.ContainerUpdate', { id: c.id, image: c.image, labels: c.labels, snapshot_key: c.snapshotKey });
      return { container: containerToProto(c) };
    }),
    Delete: unary(log, 'Containers/Delete', async (req: { id: string }, ctx) => {
      await store.delete(requireNamespace(ctx), req.id);
      events?.publish(ctx.ns, '/containers/delete', 'containerd.events.ContainerDelete', { id: req.id });
      return {};
    }),
  };
}
