import type { ServiceImpl } from '../transport/grpc/server';
import { z } from 'zod';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { TaskManager } from '../tasks';
import { mountFromProto, type MountProto } from './convert/common';
import { deleteResponse, exitToProto, metricToProto, pidInfoToProto, processToProto } from './convert/tasks';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import { parseRequest as parse } from './grpc/parse';
import type { AnyValue } from '../api/proto';

export const TASKS_SERVICE = 'containerd.services.tasks.v1.Tasks';

const PROCESS_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
const RESOURCES_TYPE = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';

const id = z.string();
const ContainerReq = z.looseObject({ container_id: id });
const ExecReq = z.looseObject({ container_id: id, exec_id: z.string().default('') });
const CreateRequestSchema = z.looseObject({
  container_id: id,
  rootfs: z.array(z.custom<MountProto>()).default([]),
  stdin: z.string().default(''),
  stdout: z.string().default(''),
  stderr: z.string().default(''),
  terminal: z.boolean().default(false),
  checkpoint: z.unknown().optional(),
});
const KillRequestSchema = ExecReq.extend({ signal: z.number().int(), all: z.boolean().default(false) });
const ExecRequestSchema = ExecReq.extend({
  stdin: z.string().default(''),
  stdout: z.string().default(''),
  stderr: z.string().default(''),
  terminal: z.boolean().default(false),
  spec: z.custom<AnyValue>().nullable().optional(),
});
const ResizeRequestSchema = ExecReq.extend({ width: z.number().int().min(0), height: z.number().int().min(0) });
const CloseIORequestSchema = ExecReq.extend({ stdin: z.boolean().default(false) });
const UpdateRequestSchema = ContainerReq.extend({ resources: z.custom<AnyValue>().nullable().optional() });

const opt = z.number().int().optional().nullable().transform((v) => v ?? undefined);
const LinuxResourcesSchema = z.looseObject({
  memory: z.looseObject({ limit: opt, reservation: opt, swap: opt }).optional(),
  cpu: z.looseObject({ shares: opt, quota: opt, period: opt, cpus: z.string().optional(), mems: z.string().optional() }).optional(),
  pids: z.looseObject({ limit: opt }).optional(),
});

function need(cid: string, what: string): string {
  if (!cid) throw invalidArgument(`${what}: container_id must be set`);
  return cid;
}

function jsonAny(a: AnyValue | null | undefined, typeUrl: string, what: string): unknown {
  if (!a || !a.value?.length) throw invalidArgument(`${what}: must be set`);
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
    Create: unary(log, 'Tasks/Create', async (raw, ctx) => {
      const req = parse(CreateRequestSchema, raw, 'Tasks/Create');
      const cid = need(req.container_id, 'Tasks/Create');
      if (req.checkpoint && (req.checkpoint as { digest?: string }).digest) throw invalidArgument(`task ${cid}: restoring from a checkpoint is not supported`);
      const { pid } = await mgr.create(requireNamespace(ctx), {
        containerId: cid,
        rootfs: req.rootfs.map(mountFromProto),
        io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
      });
      return { container_id: cid, pid };
    }),
    Start: unary(log, 'Tasks/Start', async (raw, ctx) => {
      const req = parse(ExecReq, raw, 'Tasks/Start');
      return mgr.start(requireNamespace(ctx), need(req.container_id, 'Tasks/Start'), req.exec_id || undefined);
    }),
    Wait: unary(log, 'Tasks/Wait', async (raw, ctx) => {
      const req = parse(ExecReq, raw, 'Tasks/Wait');
      return exitToProto(await mgr.wait(requireNamespace(ctx), need(req.container_id, 'Tasks/Wait'), req.exec_id || undefined));
    }),
    Delete: unary(log, 'Tasks/Delete', async (raw, ctx) => {
      const req = parse(ContainerReq, raw, 'Tasks/Delete');
      return deleteResponse(await mgr.delete(requireNamespace(ctx), need(req.container_id, 'Tasks/Delete')));
    }),
    DeleteProcess: unary(log, 'Tasks/DeleteProcess', async (raw, ctx) => {
      const req = parse(ExecReq, raw, 'Tasks/DeleteProcess');
      return deleteResponse(await mgr.deleteProcess(requireNamespace(ctx), need(req.container_id, 'Tasks/DeleteProcess'), req.exec_id), req.exec_id);
    }),
    Get: unary(log, 'Tasks/Get', async (raw, ctx) => {
      const req = parse(ExecReq, raw, 'Tasks/Get');
      return { process: processToProto(mgr.get(requireNamespace(ctx), need(req.container_id, 'Tasks/Get'), req.exec_id || undefined)) };
    }),
    List: unary(log, 'Tasks/List', async (raw: { filter?: string }, ctx) => ({
      tasks: mgr.list(requireNamespace(ctx), raw.filter || undefined).map(processToProto),
    })),
    Kill: unary(log, 'Tasks/Kill', async (raw, ctx) => {
      const req = parse(KillRequestSchema, raw, 'Tasks/Kill');
      await mgr.kill(requireNamespace(ctx), need(req.container_id, 'Tasks/Kill'), req.exec_id || undefined, req.signal, req.all);
      return {};
    }),
    Exec: unary(log, 'Tasks/Exec', async (raw, ctx) => {
      const req = parse(ExecRequestSchema, raw, 'Tasks/Exec');
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
    ResizePty: unary(log, 'Tasks/ResizePty', async (raw, ctx) => {
      const req = parse(ResizeRequestSchema, raw, 'Tasks/ResizePty');
      await mgr.resize(requireNamespace(ctx), need(req.container_id, 'Tasks/ResizePty'), req.exec_id || undefined, req.width, req.height);
      return {};
    }),
    CloseIO: unary(log, 'Tasks/CloseIO', async (raw, ctx) => {
      const req = parse(CloseIORequestSchema, raw, 'Tasks/CloseIO');
      if (req.stdin) await mgr.closeIO(requireNamespace(ctx), need(req.container_id, 'Tasks/CloseIO'), req.exec_id || undefined);
      return {};
    }),
    Pause: unary(log, 'Tasks/Pause', async (raw, ctx) => {
      const req = parse(ContainerReq, raw, 'Tasks/Pause');
      await mgr.pause(requireNamespace(ctx), need(req.container_id, 'Tasks/Pause'));
      return {};
    }),
    Resume: unary(log, 'Tasks/Resume', async (raw, ctx) => {
      const req = parse(ContainerReq, raw, 'Tasks/Resume');
      await mgr.resume(requireNamespace(ctx), need(req.container_id, 'Tasks/Resume'));
      return {};
    }),
    ListPids: unary(log, 'Tasks/ListPids', async (raw, ctx) => {
      const req = parse(ContainerReq, raw, 'Tasks/ListPids');
      return { processes: (await mgr.listPids(requireNamespace(ctx), need(req.container_id, 'Tasks/ListPids'))).map(pidInfoToProto) };
    }),
    Metrics: unary(log, 'Tasks/Metrics', async (raw: { filters?: string[] }, ctx) => ({
      metrics: (await mgr.metrics(requireNamespace(ctx), raw.filters ?? [])).map(metricToProto),
    })),
    Update: unary(log, 'Tasks/Update', async (raw, ctx) => {
      const req = parse(UpdateRequestSchema, raw, 'Tasks/Update');
      const cid = need(req.container_id, 'Tasks/Update');
      const resources = parse(LinuxResourcesSchema, jsonAny(req.resources, RESOURCES_TYPE, `task ${cid} resources`), `task ${cid} resources`);
      await mgr.update(requireNamespace(ctx), cid, resources);
      return {};
    }),
    Checkpoint: unary(log, 'Tasks/Checkpoint', async (raw: { container_id?: string }, ctx) => mgr.checkpoint(requireNamespace(ctx), raw.container_id ?? '')),
  };
}
