/**
 * berth.engine.v1.Engine, the rest of Docker's verbs beside engine.ts's lifecycle: volumes,
 * update, cp (stat, out as a server stream, in as a client stream), export, diff, history,
 * import and the prunes. Registered on the same service (the registry merges the two halves).
 */
import type { ServerCall, ServiceImpl } from '../transport';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Engine } from '../engine';
import type { ArchiveChunk, CopyToChunk, CopyToInit, ImportChunk, ImportInit } from '../api/gen/berth/engine/v1/engine';
import { filtersFromProto } from './convert/engine';
import {
  changeToProto,
  historyRowToProto,
  pathStatToProto,
  pruneReportToProto,
  systemPruneToProto,
  volumePruneToProto,
  volumeToProto,
} from './convert/engine-parity';
import { receiveChunks, sendArchive } from './engine-transfers';
import type { Api } from './grpc/api-types';
import { requireNamespace } from './grpc/context';
import { serverStream, unary, writeMessage } from './grpc/handlers';

type T = Api<'berth.engine.v1.Engine'>;

function need(v: string, what: string, method: string): string {
  if (!v) throw invalidArgument(`${method}: ${what} must be set`);
  return v;
}

const EMPTY = {};

/** An int64 field (a decimal string on the wire), or undefined when unset. */
function int64(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${name}: not an integer: ${JSON.stringify(v.slice(0, 40))}`);
  return n;
}

export function engineParityService(engine: Engine, log: Logger): ServiceImpl {
  const ns = requireNamespace;
  return {
    CreateVolume: unary(log, 'Engine/CreateVolume', async (req: T['CreateVolume']['req'], ctx): Promise<T['CreateVolume']['res']> =>
      volumeToProto(
        await engine.volumes.create(ns(ctx), { name: req.name || undefined, driver: req.driver || undefined, labels: req.labels, options: req.options }),
      ),
    ),
    ListVolumes: unary(log, 'Engine/ListVolumes', async (req: T['ListVolumes']['req'], ctx): Promise<T['ListVolumes']['res']> => ({
      volumes: (await engine.volumes.list(ns(ctx), filtersFromProto(req.filters))).map(volumeToProto),
    })),
    InspectVolume: unary(log, 'Engine/InspectVolume', async (req: T['InspectVolume']['req'], ctx): Promise<T['InspectVolume']['res']> =>
      volumeToProto(await engine.volumes.inspect(ns(ctx), need(req.name, 'name', 'Engine/InspectVolume'))),
    ),
    RemoveVolume: unary(log, 'Engine/RemoveVolume', async (req: T['RemoveVolume']['req'], ctx): Promise<T['RemoveVolume']['res']> => {
      await engine.volumes.remove(ns(ctx), need(req.name, 'name', 'Engine/RemoveVolume'), { force: req.force });
      return EMPTY;
    }),
    PruneVolumes: unary(log, 'Engine/PruneVolumes', async (req: T['PruneVolumes']['req'], ctx): Promise<T['PruneVolumes']['res']> =>
      volumePruneToProto(await engine.volumes.prune(ns(ctx), { all: req.all, filters: filtersFromProto(req.filters) })),
    ),
    Update: unary(log, 'Engine/Update', async (req: T['Update']['req'], ctx): Promise<T['Update']['res']> => {
      const r = await engine.update(ns(ctx), need(req.container, 'container', 'Engine/Update'), {
        memory: req.memory,
        cpus: req.cpus,
        pidsLimit: int64(req.pids_limit, 'pids_limit'),
        restart: req.restart,
      });
      return { warnings: r.warnings };
    }),
    StatPath: unary(log, 'Engine/StatPath', async (req: T['StatPath']['req'], ctx): Promise<T['StatPath']['res']> =>
      pathStatToProto(await engine.statPath(ns(ctx), need(req.container, 'container', 'Engine/StatPath'), need(req.path, 'path', 'Engine/StatPath'))),
    ),
    CopyFrom: serverStream(log, 'Engine/CopyFrom', async (req: T['CopyFrom']['req'], ctx, call: ServerCall<T['CopyFrom']['req'], ArchiveChunk>) => {
      const { stat, archive } = await engine.copyFrom(ns(ctx), need(req.container, 'container', 'Engine/CopyFrom'), need(req.path, 'path', 'Engine/CopyFrom'), {
        signal: ctx.signal,
      });
      await writeMessage(call, { stat: pathStatToProto(stat) });
      await sendArchive(call, archive.stream, archive.done);
    }),
    CopyTo: unary(log, 'Engine/CopyTo', async (_req: unknown, ctx, call): Promise<T['CopyTo']['res']> => {
      const { init, data } = receiveChunks<CopyToInit, CopyToChunk>(call as ServerCall<CopyToChunk, unknown>, 'Engine/CopyTo');
      const i = await init;
      await engine.copyTo(ns(ctx), need(i.container, 'container', 'Engine/CopyTo'), need(i.path, 'path', 'Engine/CopyTo'), data, {
        copyUIDGID: i.copy_uid_gid,
        signal: ctx.signal,
      });
      return EMPTY;
    }),
    Export: serverStream(log, 'Engine/Export', async (req: T['Export']['req'], ctx, call: ServerCall<T['Export']['req'], ArchiveChunk>) => {
      const archive = await engine.export(ns(ctx), need(req.container, 'container', 'Engine/Export'), { signal: ctx.signal });
      await sendArchive(call, archive.stream, archive.done);
    }),
    Changes: unary(log, 'Engine/Changes', async (req: T['Changes']['req'], ctx): Promise<T['Changes']['res']> => ({
      changes: (await engine.changes(ns(ctx), need(req.container, 'container', 'Engine/Changes'))).map(changeToProto),
    })),
    History: unary(log, 'Engine/History', async (req: T['History']['req'], ctx): Promise<T['History']['res']> => ({
      rows: (await engine.history(ns(ctx), need(req.image, 'image', 'Engine/History'))).map(historyRowToProto),
    })),
    ImportImage: unary(log, 'Engine/ImportImage', async (_req: unknown, ctx, call): Promise<T['ImportImage']['res']> => {
      const { init, data } = receiveChunks<ImportInit, ImportChunk>(call as ServerCall<ImportChunk, unknown>, 'Engine/ImportImage');
      const i = await init;
      const r = await engine.importImage(ns(ctx), data, {
        reference: i.reference || undefined,
        changes: i.changes,
        message: i.message || undefined,
        platform: i.platform || undefined,
      });
      return { image_id: r.imageId, name: r.name };
    }),
    Prune: unary(log, 'Engine/Prune', async (req: T['Prune']['req'], ctx): Promise<T['Prune']['res']> =>
      pruneReportToProto(await engine.prune(ns(ctx), { filters: filtersFromProto(req.filters) })),
    ),
    PruneImages: unary(log, 'Engine/PruneImages', async (req: T['PruneImages']['req'], ctx): Promise<T['PruneImages']['res']> =>
      pruneReportToProto(await engine.pruneImages(ns(ctx), { filters: filtersFromProto(req.filters), all: req.all })),
    ),
    SystemPrune: unary(log, 'Engine/SystemPrune', async (req: T['SystemPrune']['req'], ctx): Promise<T['SystemPrune']['res']> =>
      systemPruneToProto(await engine.systemPrune(ns(ctx), { filters: filtersFromProto(req.filters), all: req.all, volumes: req.volumes })),
    ),
  };
}
