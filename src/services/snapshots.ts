import type { ServiceImpl } from '../transport';
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventPublisher } from '../events/types';
import type { NamespacedSnapshotter } from '../metadata/snapshots';
import type { Info } from '../snapshotter/types';
import { mountToProto } from './convert/common';
import { infoFromProto, infoToProto } from './convert/snapshots';
import { requireNamespace } from './grpc/context';
import { serverStream, unary, writeMessage } from './grpc/handlers';
import type { Api } from './grpc/api-types';

export const SNAPSHOTS_SERVICE = 'containerd.services.snapshots.v1.Snapshots' as const;

/** containerd's service sends List in batches of 100 infos. */
const LIST_BATCH = 100;

type T = Api<typeof SNAPSHOTS_SERVICE>;

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
  const publish = (ctx: Ctx, topic: string, type: string, payload: Record<string, unknown>) =>
    deps.events?.publish(ctx.ns, topic, `containerd.events.${type}`, payload);
  const m = (method: string) => `Snapshots/${method}`;

  return {
    Prepare: unary(log, m('Prepare'), async (r: T['Prepare']['req'], c): Promise<T['Prepare']['res']> => {
      const ctx = requireNamespace(c);
      const mounts = await pick(r.snapshotter).prepare(ctx, r.key, r.parent || undefined, r.labels);
      publish(ctx, '/snapshot/prepare', 'SnapshotPrepare', { key: r.key, parent: r.parent });
      return { mounts: mounts.map(mountToProto) };
    }),
    View: unary(log, m('View'), async (r: T['View']['req'], c): Promise<T['View']['res']> => {
      const ctx = requireNamespace(c);
      const mounts = await pick(r.snapshotter).view(ctx, r.key, r.parent || undefined, r.labels);
      return { mounts: mounts.map(mountToProto) };
    }),
    Mounts: unary(log, m('Mounts'), async (r: T['Mounts']['req'], c): Promise<T['Mounts']['res']> => {
      const ctx = requireNamespace(c);
      return { mounts: (await pick(r.snapshotter).mounts(ctx, r.key)).map(mountToProto) };
    }),
    Commit: unary(log, m('Commit'), async (r: T['Commit']['req'], c): Promise<T['Commit']['res']> => {
      const ctx = requireNamespace(c);
      await pick(r.snapshotter).commit(ctx, r.name, r.key, r.labels);
      publish(ctx, '/snapshot/commit', 'SnapshotCommit', { key: r.key, name: r.name });
      return {};
    }),
    Remove: unary(log, m('Remove'), async (r: T['Remove']['req'], c): Promise<T['Remove']['res']> => {
      const ctx = requireNamespace(c);
      await pick(r.snapshotter).remove(ctx, r.key);
      publish(ctx, '/snapshot/remove', 'SnapshotRemove', { key: r.key });
      deps.onRemoved?.();
      return {};
    }),
    Stat: unary(log, m('Stat'), async (r: T['Stat']['req'], c): Promise<T['Stat']['res']> => {
      const ctx = requireNamespace(c);
      return { info: infoToProto(await pick(r.snapshotter).stat(ctx, r.key)) };
    }),
    Update: unary(log, m('Update'), async (r: T['Update']['req'], c): Promise<T['Update']['res']> => {
      const ctx = requireNamespace(c);
      const info = infoFromProto(r.info);
      return { info: infoToProto(await pick(r.snapshotter).update(ctx, info, r.update_mask ?? [])) };
    }),
    List: serverStream(log, m('List'), async (r: T['List']['req'], c, call) => {
      const ctx = requireNamespace(c);
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
    Usage: unary(log, m('Usage'), async (r: T['Usage']['req'], c): Promise<T['Usage']['res']> => {
      const ctx = requireNamespace(c);
      const u = await pick(r.snapshotter).usage(ctx, r.key);
      return { size: String(u.size), inodes: String(u.inodes) };
    }),
    Cleanup: unary(log, m('Cleanup'), async (r: T['Cleanup']['req'], c): Promise<T['Cleanup']['res']> => {
      const ctx = requireNamespace(c);
      await pick(r.snapshotter).cleanup(ctx);
      return {};
    }),
  };
}
