import type { ServiceImpl } from '../transport';
import type { Logger } from '../core/logger';
import { LABEL_GC_EXPIRE, type LeaseStore } from '../metadata/leases';
import { parseTime } from '../metadata/label-validation';
import { required } from './convert/common';
import { leaseToProto, resourceFromProto, resourceToProto } from './convert/leases';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import type { GcTrigger } from './images';
import type { Api } from './grpc/api-types';

export const LEASES_SERVICE = 'containerd.services.leases.v1.Leases' as const;

type T = Api<typeof LEASES_SERVICE>;

/** containerd's leases service. */
export function leasesService(store: LeaseStore, log: Logger, gc?: () => GcTrigger | undefined): ServiceImpl {
  const m = (name: string) => `Leases/${name}`;
  return {
    Create: unary(log, m('Create'), async (req: T['Create']['req'], ctx): Promise<T['Create']['res']> => {
      const lease = await store.create(requireNamespace(ctx), { id: req.id, labels: req.labels });
      // An expiring lease gives its resources back when it expires, not at some later collection.
      const expires = parseTime(lease.labels[LABEL_GC_EXPIRE]);
      if (expires) gc?.()?.wakeAt?.(expires);
      return { lease: leaseToProto(lease) };
    }),

    Delete: unary(log, m('Delete'), async (req: T['Delete']['req'], ctx): Promise<T['Delete']['res']> => {
      await store.delete(requireNamespace(ctx), req.id);
      const g = gc?.();
      if (req.sync) await g?.collect();
      else g?.schedule();
      return {};
    }),

    List: unary(log, m('List'), async (req: T['List']['req'], ctx): Promise<T['List']['res']> => {
      return { leases: (await store.list(requireNamespace(ctx), req.filters)).map(leaseToProto) };
    }),

    AddResource: unary(log, m('AddResource'), async (req: T['AddResource']['req'], ctx): Promise<T['AddResource']['res']> => {
      await store.addResource(requireNamespace(ctx), req.id, resourceFromProto(required(req.resource, 'resource: required')));
      return {};
    }),

    DeleteResource: unary(log, m('DeleteResource'), async (req: T['DeleteResource']['req'], ctx): Promise<T['DeleteResource']['res']> => {
      await store.deleteResource(requireNamespace(ctx), req.id, resourceFromProto(required(req.resource, 'resource: required')));
      gc?.()?.schedule();
      return {};
    }),

    ListResources: unary(log, m('ListResources'), async (req: T['ListResources']['req'], ctx): Promise<T['ListResources']['res']> => {
      return { resources: (await store.listResources(requireNamespace(ctx), req.id)).map(resourceToProto) };
    }),
  };
}
