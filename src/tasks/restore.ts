/**
 * After a daemon restart: every bundle under `<state>/tasks/<ns>/<id>` is matched with its
 * monitor again. All monitors are asked in parallel with a short timeout; a dead one fails fast
 * (ENOENT/ECONNREFUSED) and its exit.json tells how the process ended. Exits that happened while
 * berthd was down are published then (once: a marker file records it). Bundles whose container
 * record is gone are killed and removed in the background.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { background } from '../core/context';
import { isNotFound } from '../core/errors';
import { emptyTrash, exitReported, readExecRecords, readTaskRecord, removeBundle, type ExecRecord } from './bundle';
import { connectMonitor, type ProcessState } from './helper';
import { Proc } from './process';
import { Task } from './task';
import type { TaskManager } from './task-manager';
import type { Exit, TaskCapture } from './types';

const CONNECT_TIMEOUT_MS = 2000;

async function dirs(path: string): Promise<string[]> {
  return (await readdir(path, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
}

async function probe(stateDir: string): Promise<ProcessState | undefined> {
  try {
    return (await connectMonitor(stateDir, { timeoutMs: CONNECT_TIMEOUT_MS })).state;
  } catch {
    return undefined; // dead monitor without an exit status (or a create that never started)
  }
}

const unknownExit = (pid: number): Exit => ({ pid, exitStatus: 255, exitedAt: new Date(), oomKilled: false });
const toExit = (s: ProcessState, pid: number): Exit =>
  s.exit
    ? { pid: s.exit.pid, exitStatus: s.exit.exitStatus, exitedAt: s.exit.exitedAt, exitedAtNs: s.exit.exitedAtNs, oomKilled: s.exit.oomKilled }
    : unknownExit(pid);

/** Returns how many tasks came back. */
export async function restoreTasks(mgr: TaskManager): Promise<{ restored: number; removed: number }> {
  const root = mgr.paths.tasksRoot;
  void emptyTrash(mgr.paths).catch((e) => mgr.log.warn('emptying the task trash failed', { err: e as Error }));
  const found: Array<[string, string]> = [];
  for (const ns of await dirs(root)) for (const id of await dirs(join(root, ns))) found.push([ns, id]);
  const results = await Promise.all(
    found.map(([ns, id]) =>
      restoreOne(mgr, ns, id).catch((e) => {
        mgr.log.error('task restore failed', { ns, id, err: e as Error });
        return 'failed' as const;
      }),
    ),
  );
  return { restored: results.filter((r) => r === 'restored').length, removed: results.filter((r) => r === 'removed').length };
}

async function restoreOne(mgr: TaskManager, ns: string, id: string): Promise<'restored' | 'removed'> {
  const bundle = mgr.paths.bundle(ns, id);
  const rec = await readTaskRecord(bundle).catch(() => undefined);
  const execRecs = rec ? await readExecRecords(bundle) : [];
  const all = rec ? [rec.stateDir, ...execRecs.map((e) => e.stateDir)] : [];
  let gone = !rec;
  if (rec)
    gone = await mgr.opts.containers.get(background(ns), id).then(
      () => false,
      (e) => (isNotFound(e) ? true : Promise.reject(e)),
    );
  const [initState, ...execStates] = await Promise.all(all.map(probe));
  if (gone) {
    // Container record deleted while berthd was down (or a create that never finished): clean up.
    void (async () => {
      const live = [initState, ...execStates].some((s) => s && s.status !== 'stopped');
      if (live && rec) {
        const p = new Proc(id, undefined, rec.stateDir, rec.io, rec.pid, { status: 'running' }, { onExit: () => undefined }, mgr.log);
        await p.monitor.kill(9, { all: true }).catch(() => undefined);
        await p.monitor.wait({ timeoutMs: 10_000 }).catch(() => undefined);
      }
      await removeBundle(bundle, all);
    })().catch((e) => mgr.log.warn('removing orphan bundle failed', { ns, id, err: e as Error }));
    return 'removed';
  }
  const r = rec!;
  const hooks = mgr.hooks(ns, bundle);
  const revive = async (
    execId: string | undefined,
    stateDir: string,
    io: typeof r.io,
    pid: number,
    s: ProcessState | undefined,
    capture: TaskCapture | undefined,
  ) => {
    const status = s?.status ?? 'stopped';
    const p = new Proc(id, execId, stateDir, io, s?.pid ?? pid, { status: status === 'stopped' ? 'running' : status }, hooks, mgr.log);
    p.capture = capture;
    if (status !== 'stopped') p.watch(mgr.signal);
    else {
      const exit = s ? toExit(s, pid) : unknownExit(pid);
      p.finish(exit, !(await exitReported(bundle, execId)));
    }
    return p;
  };
  const init = await revive(undefined, r.stateDir, r.io, r.pid, initState, r.capture);
  const task = new Task(ns, bundle, r, init);
  await Promise.all(
    execRecs.map(async (e: ExecRecord, i) => {
      task.execs.set(e.execId, await revive(e.execId, e.stateDir, e.io, e.pid, execStates[i], e.capture));
    }),
  );
  mgr.register(task);
  mgr.log.info('task restored', { ns, id, status: init.status });
  return 'restored';
}
