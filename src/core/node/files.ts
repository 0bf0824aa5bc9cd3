/**
 * Small durable-file helpers shared by the stores. src/core is otherwise pure; like vscode's
 * base/common vs base/node split, what touches the filesystem lives in core/node.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsync a directory, so a rename or create inside it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` to a temp file beside `path` and renames it over `path`: readers see the old or
 * the new content, never a torn file (containerd's writeToCompletion). `durable` also fsyncs the
 * file before the rename and the directory after it; without it a process crash is still safe,
 * a power loss may lose the write.
 */
export async function writeFileAtomic(path: string, data: string, opts: { mode?: number; durable?: boolean } = {}): Promise<void> {
  const tmp = `${path}.tmp`;
  const mode = opts.mode ?? 0o600;
  try {
    if (opts.durable) {
      const fh = await open(tmp, 'w', mode);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } else await writeFile(tmp, data, { mode });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  if (opts.durable) await fsyncDir(dirname(path));
}

/**
 * writeFileAtomic without `durable`, synchronously: for a hot path where a few small writes cost
 * less than their threadpool round trips (Tasks/Create's records).
 */
export function writeFileAtomicSync(path: string, data: string, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  try {
    writeFileSync(tmp, data, { mode });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
