/**
 * A task's bundle: `<state>/tasks/<ns>/<id>/` holds config.json (the container's spec), task.json
 * (what a restarted daemon needs), rootfs/ (mount point inside the container's mount namespace),
 * the init monitor's state (monitor.sock, exit.json) and execs/<exec id>.json with the exec
 * monitors' state dirs under e/. Records are written temp + rename, so a crash leaves an old or a
 * new file, never half of one. A deleted task's bundle is renamed into `<state>/tasks/.trash/`
 * and deleted from there in the background, by the helper launcher where one runs (restore skips
 * dot dirs and empties that one).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errnoCode, internal } from '../core/errors';
import { writeFileAtomicSync } from '../core/node/files';
import { MAX_STATE_DIR_LENGTH } from './helper/paths';
import type { TaskCapture, TaskIO } from './types';

const RECORD_VERSION = 1;

export interface TaskRecord {
  version: number;
  namespace: string;
  containerId: string;
  runtime: string;
  pid: number;
  io: TaskIO;
  stateDir: string;
  cgroupPath?: string;
  namespaces: { type: string; path?: string }[];
  /** Set when the monitor holds the stdio (log and attach). */
  capture?: TaskCapture;
}

export interface ExecRecord {
  version: number;
  execId: string;
  pid: number;
  io: TaskIO;
  stateDir: string;
  capture?: TaskCapture;
}

export class TaskPaths {
  constructor(readonly stateRoot: string) {}

  get tasksRoot(): string {
    return join(this.stateRoot, 'tasks');
  }

  get trash(): string {
    return join(this.tasksRoot, '.trash');
  }

  /** berthd's end of the helper launcher (helper/launcher.ts). */
  get launcherSocket(): string {
    return join(this.tasksRoot, '.launcher.sock');
  }

  bundle(ns: string, id: string): string {
    return join(this.tasksRoot, ns, id);
  }

  /** The init monitor's state dir: the bundle itself, or a short hashed dir when the path is too long. */
  initStateDir(ns: string, id: string): string {
    const b = this.bundle(ns, id);
    return b.length <= MAX_STATE_DIR_LENGTH ? b : this.short(`${ns}/${id}`);
  }

  execStateDir(ns: string, id: string, execId: string): string {
    const p = join(this.bundle(ns, id), 'e', execId);
    return p.length <= MAX_STATE_DIR_LENGTH ? p : this.short(`${ns}/${id}/${execId}`);
  }

  private short(key: string): string {
    return join(this.stateRoot, 'tasks', '.s', createHash('sha256').update(key).digest('hex').slice(0, 24));
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw internal(`task record ${file}: unreadable`, { cause: e });
  }
}

/*
 * The bundle's small files are written with synchronous calls, on purpose: each is a few µs of
 * kernel work on a local filesystem, while a round trip through libuv's threadpool costs two
 * thread wake-ups (0.1-0.5 ms each on a busy machine), and Tasks/Create made eight of them.
 */

export async function createBundle(bundle: string, specJson: string): Promise<void> {
  mkdirSync(join(bundle, 'rootfs'), { recursive: true, mode: 0o711 });
  mkdirSync(join(bundle, 'execs'), { recursive: true, mode: 0o700 });
  writeFileSync(join(bundle, 'config.json'), specJson, { mode: 0o600 });
}

/**
 * Temp + rename: a berthd crash leaves the old or the new record, never half of one. No fsync:
 * task state is runtime state (`--state`, /run by default, tmpfs), whose containers do not
 * survive a reboot either, and the page cache outlives a crashed daemon (runc and containerd's
 * shim do not fsync their state either). An fsync cost 2-50 ms on Tasks/Create on disk.
 */
const writeRecord = (path: string, data: string) => writeFileAtomicSync(path, data);

export const writeTaskRecord = async (bundle: string, r: Omit<TaskRecord, 'version'>) =>
  writeRecord(join(bundle, 'task.json'), JSON.stringify({ version: RECORD_VERSION, ...r }));
export const readTaskRecord = (bundle: string) => readJson<TaskRecord>(join(bundle, 'task.json'));

export const writeExecRecord = async (bundle: string, r: Omit<ExecRecord, 'version'>) =>
  writeRecord(join(bundle, 'execs', `${r.execId}.json`), JSON.stringify({ version: RECORD_VERSION, ...r }));

export async function readExecRecords(bundle: string): Promise<ExecRecord[]> {
  const names = await readdir(join(bundle, 'execs')).catch(() => [] as string[]);
  const out: ExecRecord[] = [];
  for (const n of names.filter((n) => n.endsWith('.json'))) {
    const r = await readJson<ExecRecord>(join(bundle, 'execs', n)).catch(() => undefined);
    if (r) out.push(r);
  }
  return out;
}

export async function removeExecRecord(bundle: string, execId: string): Promise<void> {
  await rm(join(bundle, 'execs', `${execId}.json`), { force: true });
  await rm(join(bundle, 'execs', `${execId}.reported`), { force: true });
}

/** Markers that an exit was published, so a restarted daemon does not publish it twice. */
export const exitMarker = (bundle: string, execId?: string) => (execId ? join(bundle, 'execs', `${execId}.reported`) : join(bundle, 'exit-reported'));

/**
 * Off every RPC's path, so through the threadpool: as a synchronous write it blocked the event loop
 * right when ctr's next calls (Get, Delete) arrived, ~1.5 ms per run while the disk was busy (an
 * ext4 create waits for its journal).
 */
export async function markExitReported(bundle: string, execId?: string): Promise<void> {
  try {
    await writeFile(exitMarker(bundle, execId), '');
  } catch {
    /* the bundle is gone already (deleted right after the exit) */
  }
}

/** At shutdown, for markers still pending (TaskManager.close). */
export function markExitReportedSync(bundle: string, execId?: string): void {
  try {
    writeFileSync(exitMarker(bundle, execId), '');
  } catch {
    /* the bundle is gone already */
  }
}

export async function exitReported(bundle: string, execId?: string): Promise<boolean> {
  try {
    await readFile(exitMarker(bundle, execId));
    return true;
  } catch {
    return false;
  }
}

let trashSeq = 0;

/**
 * Takes a deleted task's bundle out of the tasks tree with one rename (a restarted berthd no longer
 * sees the task from then on), then deletes it in the background: the recursive delete is a dozen
 * threadpool round trips that Tasks/Delete no longer waits for.
 */
/**
 * A stopped task's state dir: its monitor may still be writing its exit record there while it
 * exits (after it answered the wait), so a removal can meet ENOTEMPTY once; fs.rm retries that.
 */
const removeStateDirs = async (bundle: string, stateDirs: string[]) => {
  for (const d of stateDirs) if (!d.startsWith(bundle + '/') && d !== bundle) await rm(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 10 });
};

export async function discardBundle(paths: TaskPaths, bundle: string, stateDirs: string[], offload?: (dir: string) => boolean): Promise<void> {
  await removeStateDirs(bundle, stateDirs);
  const dest = join(paths.trash, `${basename(bundle)}-${process.pid}.${++trashSeq}`);
  try {
    // Synchronous, as the records (see above): one rename, where the threadpool cost a round trip.
    try {
      renameSync(bundle, dest);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' || !existsSync(bundle)) throw e;
      mkdirSync(paths.trash, { recursive: true, mode: 0o700 });
      renameSync(bundle, dest);
    }
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') await rm(bundle, { recursive: true, force: true });
    return;
  }
  if (!offload?.(dest)) void rm(dest, { recursive: true, force: true }).catch(() => undefined);
}

/** Empties the trash a crash (or a delete still running) left behind. */
export async function emptyTrash(paths: TaskPaths): Promise<void> {
  for (const n of await readdir(paths.trash).catch(() => [] as string[])) await rm(join(paths.trash, n), { recursive: true, force: true });
}

export async function removeBundle(bundle: string, stateDirs: string[]): Promise<void> {
  await removeStateDirs(bundle, stateDirs);
  await rm(bundle, { recursive: true, force: true });
}
