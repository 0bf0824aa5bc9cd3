/**
 * Runs native/build/berth-rootfs, one process per operation: Node cannot resolve paths with
 * openat2(RESOLVE_IN_ROOT), mount privately, set xattrs or mknod. Protocol (JSON lines on the
 * child's stderr, data on stdin/stdout): native/rootfs/PROTOCOL.md.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import {
  SupervisorError,
  canceled,
  conflict,
  errnoCode,
  failedPrecondition,
  internal,
  invalidArgument,
  notFound,
  notImplemented,
  permissionDenied,
} from '../core/errors';
import { parseMountOptions } from './mount-options';
import type { Change, ChangesSource, CopyUpResult, ExtractOptions, PathStat, RootfsOps, RootfsSource, VolumeMounter } from './types';

let cachedBin: string | undefined;

/** BERTH_ROOTFS, else native/build/berth-rootfs found upwards from this file (src/ or dist/src/). */
export function defaultRootfsBin(): string {
  if (process.env.BERTH_ROOTFS) return process.env.BERTH_ROOTFS;
  if (cachedBin) return cachedBin;
  for (let d = __dirname; ; d = dirname(d)) {
    const p = join(d, 'native', 'build', 'berth-rootfs');
    if (existsSync(p)) return (cachedBin = p);
    if (dirname(d) === d) throw internal('berth-rootfs not found: run `make -C native`');
  }
}

export function sourceArgs(src: RootfsSource): string[] {
  switch (src.kind) {
    case 'dir':
      return ['--root', src.path];
    case 'pid':
      if (!Number.isInteger(src.pid) || src.pid <= 0) throw invalidArgument(`rootfs: bad pid ${src.pid}`);
      return ['--pid', String(src.pid)];
    case 'mounts': {
      if (src.mounts.length !== 1) throw notImplemented(`rootfs: ${src.mounts.length} stacked mounts are not supported`);
      const m = src.mounts[0]!;
      const bind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
      const options = m.options.filter((o) => !(src.readonly && o === 'rw'));
      if (src.readonly && !options.includes('ro')) options.push('ro');
      // Deeper destinations after their parents, so a volume inside another lands on it.
      const binds = [...(src.binds ?? [])].sort((a, b) => depth(a.destination) - depth(b.destination));
      return [
        '--mount',
        bind ? 'none' : m.type,
        m.source,
        ...(bind && !options.includes('rbind') && !options.includes('bind') ? ['--option', 'rbind'] : []),
        ...options.flatMap((o) => ['--option', o]),
        '--tmpdir',
        src.tmpdir,
        ...binds.flatMap((b) => ['--bind', b.source, `${b.destination}${b.readonly ? ':ro' : ''}`]),
      ];
    }
  }
}

const depth = (p: string) => p.split('/').filter(Boolean).length;

interface Line {
  type: 'done' | 'error' | 'warning';
  kind?: 'invalid' | 'internal' | 'usage' | 'notfound' | 'conflict' | 'readonly' | 'permission';
  errno?: number;
  msg?: string;
  [k: string]: unknown;
}

function toError(what: string, l: Line): Error {
  const msg = `${what}: ${l.msg ?? 'failed'}`;
  switch (l.kind) {
    case 'notfound':
      return notFound(msg);
    case 'conflict':
      return conflict(msg);
    case 'invalid':
      return invalidArgument(msg);
    case 'readonly':
      return failedPrecondition(`${msg} (read-only)`);
    case 'permission':
      return permissionDenied(msg);
    default:
      return internal(msg);
  }
}

interface RunOptions {
  input?: AsyncIterable<Buffer>;
  signal?: AbortSignal;
  /** Collects the child's stdout (small results; archives stream instead). */
  stdout?: Buffer[];
}

/** Runs one operation; resolves with its done line (warnings are returned too). */
async function run(bin: string, what: string, args: string[], o: RunOptions = {}): Promise<{ done: Line; warnings: string[] }> {
  if (o.signal?.aborted) throw canceled(`${what}: canceled`);
  const child = spawn(bin, args, { stdio: [o.input ? 'pipe' : 'ignore', o.stdout ? 'pipe' : 'ignore', 'pipe'] });
  if (o.stdout) child.stdout!.on('data', (b: Buffer) => o.stdout!.push(b));
  const lines: Line[] = [];
  let buf = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Line);
      } catch {
        lines.push({ type: 'error', kind: 'internal', msg: `unparsable berth-rootfs output: ${line.slice(0, 200)}` });
      }
    }
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (e) => resolve({ code: null, signal: null, spawnError: e }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const kill = () => child.kill('SIGKILL');
  o.signal?.addEventListener('abort', kill, { once: true });
  let feedError: unknown;
  if (o.input) {
    child.stdin!.on('error', () => undefined); // the child's own line says why it stopped reading
    try {
      await pipeline(Readable.from(o.input), child.stdin!);
    } catch (e) {
      const c = errnoCode(e);
      if (c !== 'EPIPE' && c !== 'ERR_STREAM_DESTROYED' && c !== 'ERR_STREAM_PREMATURE_CLOSE') {
        feedError = e;
        kill();
      }
    }
  }
  const exit = await closed;
  o.signal?.removeEventListener('abort', kill);
  if (o.signal?.aborted) throw canceled(`${what}: canceled`);
  if (feedError !== undefined)
    throw feedError instanceof SupervisorError ? feedError : invalidArgument(`${what}: reading the archive: ${(feedError as Error).message}`);
  if (exit.spawnError) throw internal(`${what}: cannot run berth-rootfs: ${exit.spawnError.message}`);
  const failure = lines.find((l) => l.type === 'error');
  if (failure) throw toError(what, failure);
  const done = lines.find((l) => l.type === 'done');
  if (!done || exit.code !== 0) throw internal(`${what}: berth-rootfs ${exit.signal ? `killed by ${exit.signal}` : `exited ${exit.code}`} without a result`);
  return { done, warnings: lines.filter((l) => l.type === 'warning').map((l) => l.msg ?? '') };
}

/** A plain tar passes; gzip is inflated here; other compressions are refused clearly. */
async function* plainTar(input: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const it = input[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  for (let n = 0; n < 6;) {
    const r = await it.next();
    if (r.done) break;
    chunks.push(r.value);
    n += r.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* whole(): AsyncIterable<Buffer> {
    if (head.length) yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  const magic = head.subarray(0, 6).toString('hex');
  if (magic.startsWith('1f8b')) {
    const gunzip = createGunzip();
    // A failure on either side destroys gunzip with it, which ends the iteration below with it.
    const fed = pipeline(Readable.from(whole()), gunzip);
    fed.catch(() => undefined);
    yield* gunzip as AsyncIterable<Buffer>;
    await fed;
    return;
  }
  if (magic.startsWith('425a68')) throw notImplemented('archive: bzip2 is not supported (send a plain or gzip tar)');
  if (magic === 'fd377a585a00') throw notImplemented('archive: xz is not supported (send a plain or gzip tar)');
  if (magic.startsWith('28b52ffd')) throw notImplemented('archive: zstd is not supported (send a plain or gzip tar)');
  yield* whole();
}

const idMap = (m: ExtractOptions['uidMap']) => (m ?? []).map((x) => `${x.containerID}:${x.hostID}:${x.size}`).join(',');

export class RootfsTool implements RootfsOps, VolumeMounter {
  constructor(private readonly bin: string = defaultRootfsBin()) {}

  async copyUp(src: RootfsSource, path: string, dest: string): Promise<CopyUpResult> {
    const { done } = await run(this.bin, `copy ${path} into ${dest}`, [...sourceArgs(src), 'copy-up', path, dest]);
    if (done.copied) return { copied: true, entries: Number(done.entries ?? 0), bytes: Number(done.bytes ?? 0) };
    return { copied: false, reason: done.reason as 'missing' | 'not a directory' | 'not empty' };
  }

  async stat(src: RootfsSource, path: string): Promise<PathStat> {
    const { done } = await run(this.bin, `stat ${path}`, [...sourceArgs(src), 'stat', path]);
    const s: PathStat = {
      name: String(done.name),
      size: Number(done.size),
      mode: Number(done.mode),
      uid: Number(done.uid),
      gid: Number(done.gid),
      mtime: new Date(Number(done.mtime) * 1000 + Math.floor(Number(done.mtime_nsec) / 1e6)),
    };
    if (typeof done.linkTarget === 'string') s.linkTarget = done.linkTarget;
    return s;
  }

  async extract(src: RootfsSource, path: string, tar: AsyncIterable<Buffer>, o: ExtractOptions = {}): Promise<{ entries: number }> {
    const args = [...sourceArgs(src), 'extract', path];
    if (o.chown) args.push('--chown', `${o.chown.uid}:${o.chown.gid}`);
    if (o.uidMap?.length) args.push('--uidmap', idMap(o.uidMap));
    if (o.gidMap?.length) args.push('--gidmap', idMap(o.gidMap));
    const { done } = await run(this.bin, `copy into ${path}`, args, { input: plainTar(tar), ...(o.signal ? { signal: o.signal } : {}) });
    return { entries: Number(done.entries ?? 0) };
  }

  async mountVolume(type: string, device: string, target: string, options: string): Promise<void> {
    // Docker's local driver: `type=none,o=bind` is a bind; the type is then not a filesystem.
    const { flags, data } = parseMountOptions(options);
    await run(this.bin, `mount volume ${target}`, ['mount-volume', type || 'none', device, target, String(flags), data]);
  }

  async umountVolume(target: string): Promise<void> {
    await run(this.bin, `unmount volume ${target}`, ['umount-volume', target]);
  }

  async changes(src: ChangesSource): Promise<Change[]> {
    const out: Buffer[] = [];
    const args = src.kind === 'overlay' ? ['changes', 'overlay', src.upper, ...src.lowers] : ['changes', 'compare', src.dir, src.parent];
    await run(this.bin, 'diff', args, { stdout: out });
    const changes: Change[] = [];
    const all = Buffer.concat(out);
    for (let at = 0; at < all.length;) {
      const end = all.indexOf(0, at);
      if (end < 0) throw internal('diff: berth-rootfs ended a change without NUL');
      changes.push({ kind: String.fromCharCode(all[at]!) as Change['kind'], path: all.toString('utf8', at + 1, end) });
      at = end + 1;
    }
    return changes;
  }
}
