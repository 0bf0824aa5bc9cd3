/**
 * A directory tree as comparable data, for "berthd unpacks entry for entry like containerd" tests:
 * listTree() walks with lstat (never follows symlinks), hashes file content and reads xattrs;
 * diffTrees() says in words what differs.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { demand, requirement, type Requirement } from './requires';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './ctr';

export type TreeEntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface TreeEntry {
  path: string; // relative, no leading slash; '' is the root itself
  type: TreeEntryType;
  mode: number; // permission bits incl. setuid/setgid/sticky (07777)
  uid: number;
  gid: number;
  size: number; // files only; 0 otherwise
  mtime: number; // whole seconds
  linkTarget?: string; // symlinks
  sha256?: string; // files
  rdev?: string; // 'major:minor' for devices
  /** First path (sorted) sharing this file's inode, when another path in the tree does. */
  hardlinkOf?: string;
  xattrs?: Record<string, string>; // hex values; absent when none (or when xattrs can't be read)
}

export type TreeField = Exclude<keyof TreeEntry, 'path'>;

function typeOf(st: import('node:fs').Stats): TreeEntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

/** How xattrs are read on this machine: getfattr (Debian `attr`), else python3's os.listxattr, else not. */
export function xattrSupport(): 'getfattr' | 'python3' | 'none' {
  if (existsSync('/usr/bin/getfattr')) return 'getfattr';
  if (existsSync('/usr/bin/python3')) return 'python3';
  return 'none';
}

/** A way to read xattrs (tree comparisons without one would silently ignore them). */
export function xattrTool(): Requirement {
  return requirement(
    'getfattr or python3',
    xattrSupport() === 'none' ? 'needs /usr/bin/getfattr (apt-get install attr; scripts/install-deps.sh) or /usr/bin/python3 to read xattrs' : undefined,
  );
}

const PY_XATTRS = `
import os, sys, json
out = {}
for p in sys.stdin.read().split('\\0'):
    if not p: continue
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        continue
    d = {}
    for n in names:
        if n.startswith('user.') or n.startswith('security.') or n.startswith('trusted.'):
            try: d[n] = os.getxattr(p, n, follow_symlinks=False).hex()
            except OSError: pass
    if d: out[p] = d
print(json.dumps(out))
`;

/** xattrs of many paths in one child process: { absPath: { name: hexValue } }. */
async function readXattrs(paths: string[]): Promise<Record<string, Record<string, string>>> {
  const how = xattrSupport();
  if (how === 'python3') {
    const r = await run('/usr/bin/python3', ['-c', PY_XATTRS], { input: paths.join('\0'), timeoutMs: 60000 });
    return r.code === 0 ? JSON.parse(r.stdout) : {};
  }
  if (how === 'getfattr') {
    const out: Record<string, Record<string, string>> = {};
    const r = await run('/usr/bin/getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', ...paths], { timeoutMs: 60000 });
    let cur = '';
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('# file: ')) cur = line.slice(8);
      else if (cur && line.includes('=')) {
        const i = line.indexOf('=');
        (out[cur] ??= {})[line.slice(0, i)] = line.slice(i + 1).replace(/^0x/, '');
      }
    }
    return out;
  }
  demand(xattrTool());
  return {};
}

/** Every entry under dir (dir itself as path ''), sorted by path. Overlay's trusted.* xattrs are skipped. */
export async function listTree(dir: string, opts: { xattrs?: boolean } = {}): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const inodes = new Map<string, string[]>();
  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? join(dir, rel) : dir;
    const st = await lstat(abs);
    const type = typeOf(st);
    const e: TreeEntry = {
      path: rel,
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: type === 'file' ? st.size : 0,
      mtime: Math.floor(st.mtimeMs / 1000),
    };
    if (type === 'symlink') e.linkTarget = await readlink(abs);
    if (type === 'file') e.sha256 = await sha256File(abs);
    if (type === 'char' || type === 'block') e.rdev = `${Math.floor(st.rdev / 256) & 0xfff}:${(st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)}`;
    if (type !== 'dir' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      inodes.set(key, [...(inodes.get(key) ?? []), rel]);
    }
    entries.push(e);
    if (type === 'dir') for (const name of (await readdir(abs)).sort()) await walk(rel ? `${rel}/${name}` : name);
  };
  await walk('');
  for (const paths of inodes.values()) {
    if (paths.length < 2) continue;
    const first = [...paths].sort()[0];
    for (const e of entries) if (paths.includes(e.path) && e.path !== first) e.hardlinkOf = first;
  }
  if (opts.xattrs !== false) {
    const xs = await readXattrs(entries.map((e) => (e.path ? join(dir, e.path) : dir)));
    for (const e of entries) {
      const x = xs[e.path ? join(dir, e.path) : dir];
      if (!x) continue;
      // Sorted: listxattr order is the order they were set, which differs between unpackers.
      const kept = Object.fromEntries(
        Object.entries(x)
          .filter(([k]) => !k.startsWith('trusted.overlay.'))
          .sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)),
      );
      if (Object.keys(kept).length) e.xattrs = kept;
    }
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function show(field: TreeField, v: unknown): string {
  if (v === undefined) return '(none)';
  if (field === 'mode') return `0${(v as number).toString(8)}`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * Human-readable differences, one line each ([] when equal). `ignore` drops fields from the
 * comparison; `ignorePaths` drops entries; mtimes ≥ `recentMtimeSince` (epoch s) compare equal.
 */
export function diffTrees(
  a: TreeEntry[],
  b: TreeEntry[],
  opts: { ignore?: TreeField[]; ignorePaths?: (p: string) => boolean; labels?: [string, string]; recentMtimeSince?: number } = {},
): string[] {
  const [la, lb] = opts.labels ?? ['a', 'b'];
  const skip = opts.ignorePaths ?? (() => false);
  const ignore = new Set<TreeField>(opts.ignore ?? []);
  const ma = new Map(a.filter((e) => !skip(e.path)).map((e) => [e.path, e]));
  const mb = new Map(b.filter((e) => !skip(e.path)).map((e) => [e.path, e]));
  const out: string[] = [];
  const fields: TreeField[] = ['type', 'mode', 'uid', 'gid', 'size', 'mtime', 'linkTarget', 'sha256', 'rdev', 'hardlinkOf', 'xattrs'];
  for (const p of [...new Set([...ma.keys(), ...mb.keys()])].sort()) {
    const ea = ma.get(p);
    const eb = mb.get(p);
    const name = p || '/';
    if (!ea) out.push(`only in ${lb}: ${name} (${eb!.type})`);
    else if (!eb) out.push(`only in ${la}: ${name} (${ea.type})`);
    else
      for (const f of fields) {
        if (ignore.has(f)) continue;
        // Dirs that a layer changes without carrying an entry for get the unpack's wall-clock mtime:
        // both sides' "recent" values count as equal.
        const recent = (v: unknown) => f === 'mtime' && opts.recentMtimeSince !== undefined && (v as number) >= opts.recentMtimeSince;
        const va = recent(ea[f]) ? 'recent' : show(f, ea[f]);
        const vb = recent(eb[f]) ? 'recent' : show(f, eb[f]);
        if (va !== vb) out.push(`${name}: ${f} ${la}=${va} ${lb}=${vb}`);
      }
  }
  return out;
}
