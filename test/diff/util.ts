import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { unpackTar, type UnpackTarget } from '../../src/diff';
import { itWith, requireRoot } from '../helpers/requires';

export const REPO = resolve(__dirname, '..', '..');
/** BERTH_UNPACK_BIN runs these tests against another build (e.g. the portable codec's), as berthd does. */
export const UNPACK_BIN = process.env.BERTH_UNPACK_BIN || join(REPO, 'native', 'build', 'berth-unpack');
export const XATTR_DUMP = join(REPO, 'native', 'build', 'berth-xattr-dump');
export const itRoot = itWith(requireRoot());

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  data?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export const T0 = new Date('2020-02-02T02:02:02Z');

/** containerd's tartest.TarContext helpers. */
export const tc = {
  dir: (name: string, mode = 0o755): TarEntry => ({ name, type: 'directory', mode }),
  file: (name: string, data: Buffer | string, mode = 0o644): TarEntry => ({ name, type: 'file', data, mode }),
  symlink: (target: string, name: string): TarEntry => ({ name, type: 'symlink', linkname: target, mode: 0o777 }),
  link: (target: string, name: string): TarEntry => ({ name, type: 'link', linkname: target, mode: 0o644 }),
};

export async function buildTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (b: unknown) => void chunks.push(b as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    const header = {
      name: e.name,
      type: e.type ?? 'file',
      mode: e.mode ?? 0o644,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? T0,
      size: data?.length ?? 0,
    } as tarStream.Header;
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax) (header as { pax?: Record<string, string> }).pax = e.pax;
    await new Promise<void>((res, rej) => pack.entry(header, data ?? Buffer.alloc(0), (err) => (err ? rej(err) : res())));
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export function applyTar(tar: Buffer, target: UnpackTarget | string, signal?: AbortSignal) {
  const t: UnpackTarget = typeof target === 'string' ? { kind: 'plain', root: target } : target;
  return unpackTar(Readable.from([tar]), t, { bin: UNPACK_BIN, signal });
}

export async function tempDir(prefix = 'berth-diff-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Resolves `p` inside `root` the way the kernel's RESOLVE_IN_ROOT does (for validators). */
export async function rootPath(root: string, p: string): Promise<string> {
  let parts = p.split('/').filter((s) => s && s !== '.');
  let cur: string[] = [];
  let hops = 0;
  while (parts.length) {
    const c = parts.shift()!;
    if (c === '..') {
      cur.pop();
      continue;
    }
    const full = join(root, ...cur, c);
    let st;
    try {
      st = await lstat(full);
    } catch {
      cur.push(c);
      continue;
    }
    if (st.isSymbolicLink() && hops++ < 40) {
      const t = await readlink(full);
      if (t.startsWith('/')) cur = [];
      parts = [...t.split('/').filter((s) => s && s !== '.'), ...parts];
      continue;
    }
    cur.push(c);
  }
  return join(root, ...cur);
}

export interface Snap {
  type: string;
  mode: number;
  size: number;
  mtimeMs: number;
  uid: number;
  gid: number;
  nlink: number;
  hash?: string;
  link?: string;
}

/** Everything under dir except the `skip` subtrees: type, mode, owner, size, mtime, content. */
export async function snapshot(dir: string, skip: string[] = []): Promise<Record<string, Snap>> {
  const out: Record<string, Snap> = {};
  async function walk(p: string, rel: string) {
    const st = await lstat(p);
    const s: Snap = {
      type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other',
      mode: st.mode,
      size: st.isDirectory() ? 0 : st.size,
      mtimeMs: st.isDirectory() ? 0 : st.mtimeMs,
      uid: st.uid,
      gid: st.gid,
      nlink: st.isDirectory() ? 0 : st.nlink,
    };
    if (st.isFile())
      s.hash = createHash('sha256')
        .update(await readFile(p))
        .digest('hex');
    if (st.isSymbolicLink()) s.link = await readlink(p);
    out[rel || '.'] = s;
    if (st.isDirectory()) for (const n of (await readdir(p)).sort()) if (!skip.includes(join(p, n))) await walk(join(p, n), rel ? `${rel}/${n}` : n);
  }
  await walk(dir, '');
  return out;
}

/** xattrs of a path (not following a final symlink), value as utf8. */
export function xattrs(p: string): Record<string, string> {
  const out: Record<string, string> = {};
  const txt = execFileSync(XATTR_DUMP, [p], { encoding: 'utf8' });
  for (const line of txt.split('\n').filter(Boolean)) {
    const i = line.indexOf('=');
    out[line.slice(0, i)] = Buffer.from(line.slice(i + 1), 'hex').toString('utf8');
  }
  return out;
}
