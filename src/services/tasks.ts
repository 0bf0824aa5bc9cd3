import type { ServiceImpl } from '../transport';
import { z } from 'zod';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { TaskManager } from '../tasks';
import { mountFromProto } from './convert/common';
import { deleteResponse, exitToProto, metricToProto, pidInfoToProto, processToProto } from './convert/tasks';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import { parseRequest as parse } from './grpc/parse';
import type { AnyValue } from '../api';
import type { Api } from './grpc/api-types';

export const TASKS_SERVICE = 'containerd.services.tasks.v1.Tasks' as const;

const PROCESS_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
const RESOURCES_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';

type T = Api<typeof TASKS_SERVICE>;

const opt = z
  .number()
  .int()
  .optional()
  .nullable()
  .transform((v) => v ?? undefined);
const LinuxResourcesSchema = z.looseObject({
  memory: z.looseObject({ limit: opt, reservation: opt, swap: opt }).optional(),
  cpu: z.looseObject({ shares: opt, quota: opt, period: opt, cpus: z.string().optional(), mems: z.string().optional() }).optional(),
  pids: z.looseObject({ limit: opt }).optional(),
});

function need(cid: string, what: string): string {
  if (!cid) throw invalidArgument(`${what}: container_id must be set`);
  return cid;
}

function jsonAny(a: AnyValue | undefined, typeUrl: string, what: string): unknown {
  if (!a || !a.value.length) throw invalidArgument(`${what}: must be set`);
  if (a.type_url !== typeUrl && !a.type_url.endsWith(typeUrl.replace(/^[^/]*\//, '/'))) {
    throw invalidArgument(`${what}: type ${JSON.stringify(a.type_url)} is not ${typeUrl}`);
  }
  try {
    return JSON.parse(Buffer.from(a.value).toString('utf8'));
  } catch (e) {
    throw invalidArgument(`${what}: not JSON`, { cause: e });
  }
}

/** Thin adapter over TaskManager (containerd.services.tasks.v1.Tasks). */
export function tasksService(mgr: TaskManager, log: Logger): ServiceImpl {
  return {
    Create: unary(log, 'Tasks/Create', async (req: T['Create']['req'], ctx): Promise<T['Create']['res']> => {
      const cid = need(req.container_id, 'Tasks/Create');
      if (req.checkpoint?.digest) throw invalidArgument(`task ${cid}: restoring from a checkpoint is not supported`);
      const { pid } = await mgr.create(requireNamespace(ctx), {
        containerId: cid,
        rootfs: req.rootfs.map(mountFromProto),
        io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
      });
      return { container_id: cid, pid };
    }),
    Start: unary(log, 'Tasks/Start', async (req: T['Start']['req'], ctx): Promise<T['Start']['res']> => {
      return mgr.start(requireNamespace(ctx), need(req.container_id, 'Tasks/Start'), req.exec_id || undefined);
    }),
    Wait: unary(log, 'Tasks/Wait', async (req: T['Wait']['req'], ctx): Promise<T['Wait']['res']> => {
      return exitToProto(await mgr.wait(requireNamespace(ctx), need(req.container_id, 'Tasks/Wait'), req.exec_id || undefined));
    }),
    Delete: unary(log, 'Tasks/Delete', async (req: T['Delete']['req'], ctx): Promise<T['Delete']['res']> => {
      return deleteResponse(await mgr.delete(requireNamespace(ctx), need(req.container_id, 'Tasks/Delete')));
    }),
    DeleteProcess: unary(log, 'Tasks/DeleteProcess', async (req: T['DeleteProcess']['req'], ctx): Promise<T['DeleteProcess']['res']> => {
      return deleteResponse(await mgr.deleteProcess(requireNamespace(ctx), need(req.container_id, 'Tasks/DeleteProcess'), req.exec_id), req.exec_id);
    }),
    Get: unary(log, 'Tasks/Get', async (req: T['Get']['req'], ctx): Promise<T['Get']['res']> => {
      return { process: processToProto(mgr.get(requireNamespace(ctx), need(req.container_id, 'Tasks/Get'), req.exec_id || undefined)) };
    }),
    List: unary(log, 'Tasks/List', async (req: T['List']['req'], ctx): Promise<T['List']['res']> => ({
      tasks: mgr.list(requireNamespace(ctx), req.filter || undefined).map(processToProto),
    })),
    Kill: unary(log, 'Tasks/Kill', async (req: T['Kill']['req'], ctx): Promise<T['Kill']['res']> => {
      await mgr.kill(requireNamespace(ctx), need(req.container_id, 'Tasks/Kill'), req.exec_id || undefined, req.signal, req.all);
      return {};
    }),
    Exec: unary(log, 'Tasks/Exec', async (req: T['Exec']['req'], ctx): Promise<T['Exec']['res']> => {
      const cid = need(req.container_id, 'Tasks/Exec');
      if (!req.exec_id) throw invalidArgument(`task ${cid}: exec_id must be set`);
      await mgr.exec(requireNamespace(ctx), {
        containerId: cid,
        execId: req.exec_id,
        io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
        process: jsonAny(req.spec, PROCESS_TYPE, `exec ${req.exec_id} spec`),
      });
      return {};
    }),
    ResizePty: unary(log, 'Tasks/ResizePty', async (req: T['ResizePty']['req'], ctx): Promise<T['ResizePty']['res']> => {
      await mgr.resize(requireNamespace(ctx), need(req.container_id, 'Tasks/ResizePty'), req.exec_id || undefined, req.width, req.height);
      return {};
    }),
    CloseIO: unary(log, 'Tasks/CloseIO', async (req: T['CloseIO']['req'], ctx): Promise<T['CloseIO']['res']> => {
      if (req.stdin) await mgr.closeIO(requireNamespace(ctx), need(req.container_id, 'Tasks/CloseIO'), req.exec_id || undefined);
      return {};
    }),
    Pause: unary(log, 'Tasks/Pause', async (req: T['Pause']['req'], ctx): Promise<T['Pause']['res']> => {
      await mgr.pause(requireNamespace(ctx), need(req.container_id, 'Tasks/Pause'));
      return {};
    }),
    Resume: unary(log, 'Tasks/Resume', async (req: T['Resume']['req'], ctx): Promise<T['Resume']['res']> => {
      await mgr.resume(requireNamespace(ctx), need(req.container_id, 'Tasks/Resume'));
      return {};
    }),
    ListPids: unary(log, 'Tasks/ListPids', async (req: T['ListPids']['req'], ctx): Promise<T['ListPids']['res']> => {
      return { processes: (await mgr.listPids(requireNamespace(ctx), need(req.container_id, 'Tasks/ListPids'))).map(pidInfoToProto) };
    }),
    Metrics: unary(log, 'Tasks/Metrics', async (req: T['Metrics']['req'], ctx): Promise<T['Metrics']['res']> => ({
      metrics: (await mgr.metrics(requireNamespace(ctx), req.filters)).map(metricToProto),
    })),
    Update: unary(log, 'Tasks/Update', async (req: T['Update']['req'], ctx): Promise<T['Update']['res']> => {
      const cid = need(req.container_id, 'Tasks/Update');
      const resources = parse(LinuxResourcesSchema, jsonAny(req.resources, RESOURCES_TYPE, `task ${cid} resources`), `task ${cid} resources`);
      await mgr.update(requireNamespace(ctx), cid, resources);
      return {};
    }),
    Checkpoint: unary(log, 'Tasks/Checkpoint', async (req: T['Checkpoint']['req'], ctx): Promise<T['Checkpoint']['res']> =>
      mgr.checkpoint(requireNamespace(ctx), req.container_id),
    ),
  };
}
