import type { ServiceImpl } from '../transport/grpc/server';
import { z } from 'zod';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import { LABEL_GC_EXPIRE, type LeaseStore } from '../metadata/leases';
import { parseTime } from '../metadata/label-validation';
import { leaseToProto, resourceFromProto, resourceToProto } from './convert/leases';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import type { GcTrigger } from './images';
import { parseRequest as parse } from './grpc/parse';

export const LEASES_SERVICE = 'containerd.services.leases.v1.Leases';

const ResourceSchema = z.object({ id: z.string().default(''), type: z.string().default('') });
export const CreateLeaseRequestSchema = z.object({ id: z.string().default(''), labels: z.record(z.string(), z.string()).nullish().transform((l) => l ?? {}) });
export const DeleteLeaseRequestSchema = z.object({ id: z.string().default(''), sync: z.boolean().default(false) });
export const ListLeasesRequestSchema = z.object({ filters: z.array(z.string()).default([]) });
export const LeaseResourceRequestSchema = z.object({ id: z.string().default(''), resource: ResourceSchema.nullish() });
export const ListResourcesRequestSchema = z.object({ id: z.string().default('') });

function resourceArg(r: z.infer<typeof ResourceSchema> | null | undefined) {
  if (!r) throw invalidArgument('resource: required');
  return resourceFromProto(r);
}

/** containerd's leases service. */
export function leasesService(store: LeaseStore, log: Logger, gc?: () => GcTrigger | undefined): ServiceImpl {
  const m = (name: string) => `Leases/${name}`;
  return {
    Create: unary(log, m('Create'), async (req, ctx) => {
      const { id, labels } = parse(CreateLeaseRequestSchema, req);
      const lease = await store.create(requireNamespace(ctx), { id, labels });
      // An expiring lease gives its resources back when it expires, not at some later collection.
      const expires = parseTime(lease.labels[LABEL_GC_EXPIRE]);
      if (expires) gc?.()?.wakeAt?.(expires);
      return { lease: leaseToProto(lease) };
    }),

    Delete: unary(log, m('Delete'), async (req, ctx) => {
      const { id, sync } = parse(DeleteLeaseRequestSchema, req);
      await store.delete(requireNamespace(ctx), id);
      const g = gc?.();
      if (sync) await g?.collect();
      else g?.schedule();
      return {};
    }),

    List: unary(log, m('List'), async (req, ctx) => {
      const { filters } = parse(ListLeasesRequestSchema, req);
      return { leases: (await store.list(requireNamespace(ctx), filters)).map(leaseToProto) };
    }),

    AddResource: unary(log, m('AddResource'), async (req, ctx) => {
      const { id, resource } = parse(LeaseResourceRequestSchema, req);
      await store.addResource(requireNamespace(ctx), id, resourceArg(resource));
      return {};
    }),

    DeleteResource: unary(log, m('DeleteResource'), async (req, ctx) => {
      const { id, resource } = parse(LeaseResourceRequestSchema, req);
      await store.deleteResource(requireNamespace(ctx), id, resourceArg(resource));
      gc?.()?.schedule();
      return {};
    }),

    ListResources: unary(log, m('ListResources'), async (req, ctx) => {
      const { id } = parse(ListResourcesRequestSchema, req);
      return { resources: (await store.listResources(requireNamespace(ctx), id)).map(resourceToProto) };
    }),
  };
}
