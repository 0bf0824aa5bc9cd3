/**
 * berth.engine.v1.Engine: a thin adapter over the engine (src/engine). Errors keep Docker's
 * wording; a Conflict (a name in use, a container not running) travels as FAILED_PRECONDITION.
 */
import type { ServerCall, ServiceImpl } from '../transport';
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { Engine } from '../engine';
import type { StreamInput, StreamOutput } from '../api/gen/berth/engine/v1/engine';
import { fromTimestamp } from './convert/common';
import {
  containerToProto,
  createFromProto,
  eventToProto,
  filtersFromProto,
  imageDetailToProto,
  imageSummaryToProto,
  logsFromProto,
  statsToProto,
  summaryToProto,
  waitCondition,
} from './convert/engine';
import { encodeLogBatches } from './convert/log-batch';
import { engineNetworkMethods } from './engine-network';
import { serveSession } from './engine-streams';
import type { Api } from './grpc/api-types';
import { requireNamespace } from './grpc/context';
import { bidi, drained, serverStream, unary, writeMessage } from './grpc/handlers';

export const ENGINE_SERVICE = 'berth.engine.v1.Engine' as const;
type T = Api<typeof ENGINE_SERVICE>;

/** Every container-addressed request names one. */
function ref(container: string, method: string): string {
  if (!container) throw invalidArgument(`${method}: container must be set (a name, an id or an id prefix)`);
  if (container.includes('\0')) throw invalidArgument(`${method}: container must not contain a NUL byte`);
  return container;
}

const EMPTY = {};

export function engineService(engine: Engine, log: Logger): ServiceImpl {
  const ns = requireNamespace;
  return {
    Create: unary(log, 'Engine/Create', async (req: T['Create']['req'], ctx): Promise<T['Create']['res']> => {
      if (!req.image) throw invalidArgument('Engine/Create: image must be set');
      const c = await engine.create(ns(ctx), createFromProto(req));
      return { id: c.id, name: c.name, warnings: c.warnings };
    }),
    Start: unary(log, 'Engine/Start', async (req: T['Start']['req'], ctx): Promise<T['Start']['res']> => {
      await engine.start(ns(ctx), ref(req.container, 'Engine/Start'));
      return EMPTY;
    }),
    Stop: unary(log, 'Engine/Stop', async (req: T['Stop']['req'], ctx): Promise<T['Stop']['res']> => {
      await engine.stop(ns(ctx), ref(req.container, 'Engine/Stop'), { timeout: req.timeout, signal: req.signal || undefined });
      return EMPTY;
    }),
    Restart: unary(log, 'Engine/Restart', async (req: T['Restart']['req'], ctx): Promise<T['Restart']['res']> => {
      await engine.restart(ns(ctx), ref(req.container, 'Engine/Restart'), { timeout: req.timeout, signal: req.signal || undefined });
      return EMPTY;
    }),
    Kill: unary(log, 'Engine/Kill', async (req: T['Kill']['req'], ctx): Promise<T['Kill']['res']> => {
      await engine.kill(ns(ctx), ref(req.container, 'Engine/Kill'), req.signal || undefined);
      return EMPTY;
    }),
    Pause: unary(log, 'Engine/Pause', async (req: T['Pause']['req'], ctx): Promise<T['Pause']['res']> => {
      await engine.pause(ns(ctx), ref(req.container, 'Engine/Pause'));
      return EMPTY;
    }),
    Unpause: unary(log, 'Engine/Unpause', async (req: T['Unpause']['req'], ctx): Promise<T['Unpause']['res']> => {
      await engine.unpause(ns(ctx), ref(req.container, 'Engine/Unpause'));
      return EMPTY;
    }),
    Remove: unary(log, 'Engine/Remove', async (req: T['Remove']['req'], ctx): Promise<T['Remove']['res']> => {
      await engine.remove(ns(ctx), ref(req.container, 'Engine/Remove'), { force: req.force, volumes: req.volumes });
      return EMPTY;
    }),
    Rename: unary(log, 'Engine/Rename', async (req: T['Rename']['req'], ctx): Promise<T['Rename']['res']> => {
      if (!req.name) throw invalidArgument('Engine/Rename: name must be set');
      await engine.rename(ns(ctx), ref(req.container, 'Engine/Rename'), req.name);
      return EMPTY;
    }),
    Wait: unary(log, 'Engine/Wait', async (req: T['Wait']['req'], ctx): Promise<T['Wait']['res']> => {
      const r = await engine.wait(ns(ctx), ref(req.container, 'Engine/Wait'), waitCondition(req.condition));
      return { exit_code: r.exitCode, error: r.error ?? '' };
    }),
    Inspect: unary(log, 'Engine/Inspect', async (req: T['Inspect']['req'], ctx): Promise<T['Inspect']['res']> => {
      return containerToProto(await engine.inspect(ns(ctx), ref(req.container, 'Engine/Inspect')), (v) => engine.volumes.dataDir(ctx.ns, v));
    }),
    List: unary(log, 'Engine/List', async (req: T['List']['req'], ctx): Promise<T['List']['res']> => ({
      containers: (await engine.list(ns(ctx), { all: req.all, filters: filtersFromProto(req.filters) })).map(summaryToProto),
    })),
    Logs: serverStream(log, 'Engine/Logs', async (req: T['Logs']['req'], ctx, call: ServerCall<T['Logs']['req'], T['Logs']['res']>) => {
      // A batch goes out without an await per entry; the transport's high-water mark stops it.
      for await (const batch of engine.logBatches(ns(ctx), ref(req.container, 'Engine/Logs'), logsFromProto(req))) {
        for (const m of encodeLogBatches(batch)) if (!call.writeEncoded(m)) await drained(call);
        if (call.cancelled) return;
      }
    }),
    // async: a missing namespace (ns() throws) must reject the call's promise, not throw past the wrapper.
    Attach: bidi(log, 'Engine/Attach', async (ctx: Ctx, call: ServerCall<StreamInput, StreamOutput>) =>
      serveSession(ns(ctx), call, 'Engine/Attach', async (m) => {
        const a = m.attach;
        if (!a) throw invalidArgument('Engine/Attach: the first message must be an AttachInit');
        return engine.attach(ctx, ref(a.container, 'Engine/Attach'), { stdin: a.stdin, stdout: a.stdout, stderr: a.stderr, detachKeys: a.detach_keys });
      }),
    ),
    Exec: bidi(log, 'Engine/Exec', async (ctx: Ctx, call: ServerCall<StreamInput, StreamOutput>) =>
      serveSession(ns(ctx), call, 'Engine/Exec', async (m) => {
        const x = m.exec;
        if (!x) throw invalidArgument('Engine/Exec: the first message must be an ExecInit');
        return engine.exec(ctx, ref(x.container, 'Engine/Exec'), {
          cmd: x.cmd,
          env: x.env,
          user: x.user || undefined,
          workingDir: x.working_dir || undefined,
          tty: x.tty,
          stdin: x.stdin,
          privileged: x.privileged,
          detachKeys: x.detach_keys,
          detach: x.detach,
        });
      }),
    ),
    Resize: unary(log, 'Engine/Resize', async (req: T['Resize']['req'], ctx): Promise<T['Resize']['res']> => {
      if (!req.width || !req.height) throw invalidArgument('Engine/Resize: width and height must be set');
      await engine.resize(ns(ctx), ref(req.container, 'Engine/Resize'), req.width, req.height, req.exec_id || undefined);
      return EMPTY;
    }),
    Top: unary(log, 'Engine/Top', async (req: T['Top']['req'], ctx): Promise<T['Top']['res']> => {
      const t = await engine.top(ns(ctx), ref(req.container, 'Engine/Top'));
      return { titles: t.titles, processes: t.processes.map((fields) => ({ fields })) };
    }),
    Stats: serverStream(log, 'Engine/Stats', async (req: T['Stats']['req'], ctx, call: ServerCall<T['Stats']['req'], T['Stats']['res']>) => {
      if (req.interval_ms && req.interval_ms < 100) throw invalidArgument('Engine/Stats: interval_ms must be at least 100');
      for await (const s of engine.stats(ns(ctx), ref(req.container, 'Engine/Stats'), { stream: req.stream, intervalMs: req.interval_ms || undefined })) {
        await writeMessage(call, statsToProto(s));
        if (call.cancelled) return;
      }
    }),
    Commit: unary(log, 'Engine/Commit', async (req: T['Commit']['req'], ctx): Promise<T['Commit']['res']> => {
      const r = await engine.commit(ns(ctx), ref(req.container, 'Engine/Commit'), {
        reference: req.reference || undefined,
        comment: req.comment || undefined,
        author: req.author || undefined,
        pause: req.pause,
      });
      return { image_id: r.imageId, name: r.name };
    }),
    Events: serverStream(log, 'Engine/Events', async (req: T['Events']['req'], ctx, call: ServerCall<T['Events']['req'], T['Events']['res']>) => {
      for await (const e of engine.events(ns(ctx), {
        filters: filtersFromProto(req.filters),
        since: fromTimestamp(req.since),
        until: fromTimestamp(req.until),
      })) {
        await writeMessage(call, eventToProto(e));
        if (call.cancelled) return;
      }
    }),
    ListImages: unary(log, 'Engine/ListImages', async (req: T['ListImages']['req'], ctx): Promise<T['ListImages']['res']> => ({
      images: (await engine.listImages(ns(ctx), filtersFromProto(req.filters))).map(imageSummaryToProto),
    })),
    InspectImage: unary(log, 'Engine/InspectImage', async (req: T['InspectImage']['req'], ctx): Promise<T['InspectImage']['res']> => {
      if (!req.image) throw invalidArgument('Engine/InspectImage: image must be set');
      return imageDetailToProto(await engine.inspectImage(ns(ctx), req.image));
    }),
    RemoveImage: unary(log, 'Engine/RemoveImage', async (req: T['RemoveImage']['req'], ctx): Promise<T['RemoveImage']['res']> => {
      if (!req.image) throw invalidArgument('Engine/RemoveImage: image must be set');
      return engine.removeImage(ns(ctx), req.image, { force: req.force });
    }),
    ...engineNetworkMethods(engine, log),
  };
}
