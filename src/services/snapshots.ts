import type { ServiceImpl } from '../transport/grpc/server';
import { z } from 'zod';
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import type { NamespacedSnapshotter } from '../metadata/snapshots';
import type { Info } from '../snapshotter/types';
import { mountToProto } from './convert/common';
import { infoFromProto, infoToProto, type InfoProto } from './convert/snapshots';
import { requireNamespace } from './grpc/context';
import { serverStream, unary, writeMessage } from './grpc/handlers';
import { parseRequest as parse } from './grpc/parse';

export const SNAPSHOTS_SERVICE = 'containerd.services.snapshots.v1.Snapshots';

/** containerd's service sends List in batches of 100 infos. */
const LIST_BATCH = 100;

const Labels = z.record(z.string(), z.string()).default({});
const KeyReq = z.object({ snapshotter: z.string(), key: z.string() });
const CreateReq = KeyReq.extend({ parent: z.string().default(''), labels: Labels });
const CommitReq = KeyReq.extend({ name: z.string(), labels: Labels });
const UpdateReq = z.object({
  snapshotter: z.string(),
  info: z.object({ name: z.string().default(''), labels: Labels }).loose().nullable().optional(),
  update_mask: z.object({ paths: z.array(z.string()).default([]) }).nullable().optional(),
});
const ListReq = z.object({ snapshotter: z.string(), filters: z.array(z.string()).default([]) });
const SnapshotterReq = z.object({ snapshotter: z.string() });

/**
 * containerd.services.snapshots.v1.Snapshots: a thin adapter over the namespaced snapshotters.
 * Publishes /snapshot/prepare, /snapshot/commit and /snapshot/remove as containerd does.
 */
export function snapshotsService(deps: {
  log: Logger;
  snapshotters: ReadonlyMap<string, NamespacedSnapshotter>;
  events?: EventPublisher;
  /** Runs after a successful Remove: the parents it leaves unreferenced are GC's to collect. */
  onRemoved?: () => void;
}): ServiceImpl {
  const { log } = deps;
  const pick = (name: string): NamespacedSnapshotter => {
    if (!name) throw invalidArgument('snapshotter argument missing');
    const s = deps.snapshotters.get(name);
    if (!s) throw invalidArgument(`snapshotter not loaded: ${name} (available: ${[...deps.snapshotters.keys()].join(', ')})`);
    return s;
  };
  const publish = (ctx: Ctx, topic: string, type: string, payload: Record<string, unknown>) => deps.events?.publish(ctx.ns, topic, `containerd.events.${type}`, payload);
  const m = (method: string) => `Snapshots/${method}`;

  return {
    Prepare: unary(log, m('Prepare'), async (req, c) => {
      const ctx = requireNamespace(c);
      const r = parse(CreateReq, req, 'Prepare');
      const mounts = await pick(r.snapshotter).prepare(ctx, r.key, r.parent || undefined, r.labels);
      publish(ctx, '/snapshot/prepare', 'SnapshotPrepare', { key: r.key, parent: r.parent });
      return { mounts: mounts.map(mountToProto) };
    }),
    View: unary(log, m('View'), async (req, c) => {
      const ctx = requireNamespace(c);
      const r = parse(CreateReq, req, 'View');
      const mounts = await pick(r.snapshotter).view(ctx, r.key, r.parent || undefined, r.labels);
      return { mounts: mounts.map(mountToProto) };
    }),
    Mounts: unary(log, m('Mounts'), async (req, c) => {
      const ctx = requireNamespace(c);
      const r = parse(KeyReq, req, 'Mounts');
      return { mounts: (await pick(r.snapshotter).mounts(ctx, r.key)).map(mountToProto) };
    }),
    Commit: unary(log, m('Commit'), async (req, c) => {
      const ctx = requireNamespace(c);
      const r = parse(CommitReq, req, 'Commit');
      await pick(r.snapshotter).commit(ctx, r.name, r.key, r.labels);
      publish(ctx, '/snapshot/commit', 'SnapshotCommit', { key: r.key, name: r.name });
      return {};
    }),
    Remove: unary(log, m('Remove'), async (req, c) => {
      const ctx = requireNamespace(c);
      const r = parse(KeyReq, req, 'Remove');
      await pick(r.snapshotter).remove(ctx, r.key);
      publish(ctx, '/snapshot/remove', 'SnapshotRemove', { key: r.key });
      deps.onRemoved?.();
      return {};
    }),
    Stat: unary(log, m('Stat'), async (req, c) => {
      const ctx = requireNamespace(c);
      const r = parse(KeyReq, req, 'Stat');
      return { info: infoToProto(await pick(r.snapshotter).stat(ctx, r.key)) };
    }),
    Update: unary(log, m('Update'), async (req, c) => {
      const ctx = requireNamespace(c);
      const r = parse(UpdateReq, req, 'Update');
      const info = infoFromProto(r.info as Partial<InfoProto> | undefined);
      return { info: infoToProto(await pick(r.snapshotter).update(ctx, info, r.update_mask?.paths ?? [])) };
    }),
    List: serverStream(log, m('List'), async (req, c, call) => {
      const ctx = requireNamespace(c);
      const r = parse(ListReq, req, 'List');
      let batch: Info[] = [];
      for await (const i of pick(r.snapshotter).walk(ctx, r.filters)) {
        batch.push(i);
        if (batch.length >= LIST_BATCH) {
          await writeMessage(call, { info: batch.map(infoToProto) });
          batch = [];
        }
      }
      if (batch.length) await writeMessage(call, { info: batch.map(infoToProto) });
    }),
    Usage: unary(log, m('Usage'), async (req, c) => {
      const ctx = requireNamespace(c);
      const r = parse(KeyReq, req, 'Usage');
      const u = await pick(r.snapshotter).usage(ctx, r.key);
      return { size: String(u.size), inodes: String(u.inodes) };
    }),
    Cleanup: unary(log, m('Cleanup'), async (req, c) => {
      const ctx = requireNamespace(c);
      const r = parse(SnapshotterReq, req, 'Cleanup');
      await pick(r.snapshotter).cleanup(ctx);
      return {};
    }),
  };
}
