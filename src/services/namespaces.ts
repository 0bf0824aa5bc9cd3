import type { ServiceImpl } from '../transport';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import type { NamespaceStore } from '../metadata/namespaces';
import { required } from './convert/common';
import { namespaceFromProto, namespaceToProto } from './convert/namespaces';
import { unary } from './grpc/handlers';
import type { Api } from './grpc/api-types';

export const NAMESPACES_SERVICE = 'containerd.services.namespaces.v1.Namespaces' as const;

type T = Api<typeof NAMESPACES_SERVICE>;

/**
 * containerd's namespaces service. No namespace header is needed (ctr sends one anyway);
 * events go to the caller's namespace, except /namespaces/delete which goes to the deleted one.
 */
export function namespacesService(store: NamespaceStore, log: Logger, events?: () => EventPublisher | undefined): ServiceImpl {
  const m = (name: string) => `Namespaces/${name}`;
  return {
    Get: unary(log, m('Get'), async (req: T['Get']['req'], ctx): Promise<T['Get']['res']> => ({ namespace: namespaceToProto(await store.get(ctx, req.name)) })),

    List: unary(log, m('List'), async (req: T['List']['req'], ctx): Promise<T['List']['res']> => ({
      namespaces: (await store.list(ctx, req.filter)).map(namespaceToProto),
    })),

    Create: unary(log, m('Create'), async (req: T['Create']['req'], ctx): Promise<T['Create']['res']> => {
      const created = await store.create(ctx, namespaceFromProto(required(req.namespace, 'namespace: required')));
      events?.()?.publish(ctx.ns || created.name, '/namespaces/create', 'containerd.events.NamespaceCreate', { name: created.name, labels: created.labels });
      return { namespace: namespaceToProto(created) };
    }),

    Update: unary(log, m('Update'), async (req: T['Update']['req'], ctx): Promise<T['Update']['res']> => {
      const updated = await store.update(ctx, namespaceFromProto(required(req.namespace, 'namespace: required')), req.update_mask);
      events?.()?.publish(ctx.ns || updated.name, '/namespaces/update', 'containerd.events.NamespaceUpdate', { name: updated.name, labels: updated.labels });
      return { namespace: namespaceToProto(updated) };
    }),

    Delete: unary(log, m('Delete'), async (req: T['Delete']['req'], ctx): Promise<T['Delete']['res']> => {
      await store.delete(ctx, req.name);
      events?.()?.publish(req.name, '/namespaces/delete', 'containerd.events.NamespaceDelete', { name: req.name });
      return {};
    }),
  };
}
