/**
 * `cp`'s local side, as Docker's client does it (moby's pkg/archive CopyTo and TarResource): a tar
 * of a local path with its top entry renamed, and a tar from berthd extracted below a local
 * directory with its top entry renamed. Extraction never writes through a symlink the archive
 * made or found below the destination: every parent is checked to be a real directory, files are
 * created exclusively (O_EXCL does not follow a link), and names with `..` or a leading `/` are
 * refused. Owners are not set (Docker's client extracts with NoLchown).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, lutimes, mkdir, readdir, readlink, chmod, symlink, unlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { CliError } from './command';

/** The archive name of an entry at `rel` below the source: `top/rel` (`top` '' = the source's children only). */
const nameOf = (top: string, rel: string) => (top ? (rel ? `${top}/${rel}` : top) : rel);

/**
 * A tar of the local `path` whose top entry is named `top` ('' = only its children, for `dir/.`).
 * `owner` sets every entry's owner (Docker sends root's for a copy into a container).
 */
export function packLocal(path: string, top: string, owner: { uid: number; gid: number }): AsyncIterable<Buffer> {
  const pack = tar.pack();
  const add = (h: Partial<tar.Header> & { name: string }, body?: Buffer) =>
    new Promise<void>((resolve, reject) =>
      body ? pack.entry(h, body, (e) => (e ? reject(e) : resolve())) : pack.entry(h, (e) => (e ? reject(e) : resolve())),
    );
  const walk = async (abs: string, rel: string): Promise<void> => {
    const st = await lstat(abs);
    const name = nameOf(top, rel);
    const base = { mode: st.mode & 0o7777, mtime: st.mtime, ...owner };
    if (st.isDirectory()) {
      if (name) await add({ ...base, name, type: 'directory' });
      for (const child of (await readdir(abs)).sort()) await walk(join(abs, child), rel ? `${rel}/${child}` : child);
    } else if (st.isSymbolicLink()) {
      await add({ ...base, name, type: 'symlink', linkname: await readlink(abs) });
    } else if (st.isFile()) {
      await new Promise<void>((resolve, reject) => {
        const w = pack.entry({ ...base, name, type: 'file', size: st.size }, (e) => (e ? reject(e) : resolve()));
        pipeline(createReadStream(abs), w).catch(reject);
      });
    } // sockets, fifos and devices are left out, as Docker's TarResource skips sockets
  };
  walk(path, '').then(
    () => pack.finalize(),
    (e: Error) => pack.destroy(new CliError(`${path}: ${e.message}`, 1)),
  );
  return pack as unknown as AsyncIterable<Buffer>;
}

/** `a/b/../c` and `/x` are refused; `./a/b/` is `a/b`. */
function cleanName(name: string): string {
  const n = posix.normalize(name).replace(/\/+$/, '');
  if (n.startsWith('/') || n === '..' || n.startsWith('../'))
    throw new CliError(`invalid archive entry ${JSON.stringify(name)}: it leads outside the destination`, 1);
  return n === '.' ? '' : n.replace(/^\.\//, '');
}

/** An entry's name with the archive's top name `from` ('' = the archive holds a directory's contents) made `to`. */
function renamed(rel: string, { from, to }: { from: string; to: string }): string {
  if (from === to) return rel;
  if (from === '') return rel ? `${to}/${rel}` : to;
  if (rel === from) return to;
  return rel.startsWith(`${from}/`) ? to + rel.slice(from.length) : rel;
}

/** Checks that every directory from `root` down to `rel`'s parent is a real directory (no symlink). */
async function checkParents(root: string, rel: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  let p = root;
  for (const part of parts) {
    p = join(p, part);
    const st = await lstat(p).catch(() => undefined);
    if (!st) await mkdir(p, { mode: 0o755 });
    else if (!st.isDirectory()) throw new CliError(`cannot extract ${rel}: ${p} is not a directory`, 1);
  }
}

/** Removes a non-directory at `p` so the entry can be created there; refuses to replace a directory by a non-directory. */
async function clearFor(p: string, dir: boolean): Promise<boolean> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return false;
  if (st.isDirectory()) {
    if (!dir) throw new CliError(`cannot overwrite directory ${JSON.stringify(p)} with non-directory`, 1);
    return true;
  }
  if (dir) throw new CliError(`cannot overwrite non-directory ${JSON.stringify(p)} with directory`, 1);
  await unlink(p);
  return false;
}

/**
 * Extracts `data` below the existing directory `root`, the archive's top name `from` renamed to
 * `to` (both '' = names as they are). Returns the bytes of file content written.
 */
export async function extractLocal(data: AsyncIterable<Buffer>, root: string, rename: { from: string; to: string }): Promise<number> {
  const ex = tar.extract();
  const feeding = pipeline(Readable.from(data), ex);
  feeding.catch(() => undefined);
  const dirTimes: Array<[string, Date]> = [];
  let bytes = 0;
  for await (const entry of ex) {
    const h = entry.header;
    const rel = renamed(cleanName(h.name), rename);
    if (!rel) {
      entry.resume();
      continue;
    }
    await checkParents(root, rel);
    const p = join(root, rel);
    const mode = (h.mode ?? 0o644) & 0o7777;
    const mtime = h.mtime ?? new Date();
    if (h.type === 'directory') {
      if (!(await clearFor(p, true))) await mkdir(p, { mode });
      await chmod(p, mode);
      dirTimes.push([p, mtime]);
      entry.resume();
    } else if (h.type === 'symlink') {
      await clearFor(p, false);
      await symlink(h.linkname ?? '', p);
      await lutimes(p, mtime, mtime).catch(() => undefined);
      entry.resume();
    } else if (h.type === 'link') {
      await clearFor(p, false);
      const target = renamed(cleanName(h.linkname ?? ''), rename);
      await checkParents(root, target);
      await link(join(root, target), p);
      entry.resume();
    } else if (h.type === 'file' || h.type === 'contiguous-file' || !h.type) {
      await clearFor(p, false);
      await pipeline(entry, createWriteStream(p, { flags: 'wx', mode }));
      await chmod(p, mode);
      await utimes(p, mtime, mtime);
      bytes += h.size ?? 0;
    } else {
      entry.resume(); // devices and fifos: Docker's client cannot make them either without root; skipped
    }
  }
  await feeding;
  for (const [p, t] of dirTimes.reverse()) await utimes(p, t, t).catch(() => undefined);
  return bytes;
}
