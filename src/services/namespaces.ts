import type { ServiceImpl } from '../transport/grpc/server';
import { z } from 'zod';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import type { NamespaceStore } from '../metadata/namespaces';
import { namespaceFromProto, namespaceToProto } from './convert/namespaces';
import { unary } from './grpc/handlers';
import { parseRequest as parse } from './grpc/parse';

export const NAMESPACES_SERVICE = 'containerd.services.namespaces.v1.Namespaces';

const LabelsSchema = z.record(z.string(), z.string()).nullish().transform((l) => l ?? {});
const NamespaceSchema = z.object({ name: z.string().default(''), labels: LabelsSchema });
const MaskSchema = z.object({ paths: z.array(z.string()).default([]) }).nullish();
export const GetNamespaceRequestSchema = z.object({ name: z.string().default('') });
export const ListNamespacesRequestSchema = z.object({ filter: z.string().default('') });
export const CreateNamespaceRequestSchema = z.object({ namespace: NamespaceSchema.nullish() });
export const UpdateNamespaceRequestSchema = z.object({ namespace: NamespaceSchema.nullish(), update_mask: MaskSchema });
export const DeleteNamespaceRequestSchema = z.object({ name: z.string().default('') });

/**
 * containerd's namespaces service. No namespace header is needed (ctr sends one anyway);
 * events go to the caller's namespace, except /namespaces/delete which goes to the deleted one.
 */
export function namespacesService(store: NamespaceStore, log: Logger, events?: () => EventPublisher | undefined): ServiceImpl {
  const m = (name: string) => `Namespaces/${name}`;
  return {
    Get: unary(log, m('Get'), async (req, ctx) => ({ namespace: namespaceToProto(await store.get(ctx, parse(GetNamespaceRequestSchema, req).name)) })),

    List: unary(log, m('List'), async (req, ctx) => ({ namespaces: (await store.list(ctx, parse(ListNamespacesRequestSchema, req).filter)).map(namespaceToProto) })),

    Create: unary(log, m('Create'), async (req, ctx) => {
      const { namespace } = parse(CreateNamespaceRequestSchema, req);
      if (!namespace) throw invalidArgument('namespace: required');
      const created = await store.create(ctx, namespaceFromProto(namespace));
      events?.()?.publish(ctx.ns || created.name, '/namespaces/create', 'containerd.events.NamespaceCreate', { name: created.name, labels: created.labels });
      return { namespace: namespaceToProto(created) };
    }),

    Update: unary(log, m('Update'), async (req, ctx) => {
      const { namespace, update_mask } = parse(UpdateNamespaceRequestSchema, req);
      if (!namespace) throw invalidArgument('namespace: required');
      const updated = await store.update(ctx, namespaceFromProto(namespace), update_mask?.paths);
      events?.()?.publish(ctx.ns || updated.name, '/namespaces/update', 'containerd.events.NamespaceUpdate', { name: updated.name, labels: updated.labels });
      return { namespace: namespaceToProto(updated) };
    }),

    Delete: unary(log, m('Delete'), async (req, ctx) => {
      const { name } = parse(DeleteNamespaceRequestSchema, req);
      await store.delete(ctx, name);
      events?.()?.publish(name, '/namespaces/delete', 'containerd.events.NamespaceDelete', { name });
      return {};
    }),
  };
}

