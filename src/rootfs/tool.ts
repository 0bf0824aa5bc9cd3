/**
 * Runs native/build/berth-rootfs, one process per operation: Node cannot resolve paths with
 * openat2(RESOLVE_IN_ROOT), mount privately, set xattrs or mknod. Protocol (JSON lines on the
 * child's stderr, data on stdin/stdout): native/rootfs/PROTOCOL.md.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { findNativeBin } from '../core/node/native-bin';
import { internal, invalidArgument, notImplemented } from '../core/errors';
import type { Mount } from '../core/types';
import { parseMountOptions } from './mount-options';
import { run, start } from './process';
import type { Archive, ArchiveOptions, Change, ChangesSource, CopyUpResult, ExtractOptions, PathStat, RootfsOps, RootfsSource, VolumeMounter } from './types';

/** BERTH_ROOTFS, else native/build/berth-rootfs (core/node/native-bin.ts). */
export function defaultRootfsBin(): string {
  const bin = findNativeBin('berth-rootfs', 'BERTH_ROOTFS');
  if (!bin) throw internal('berth-rootfs not found: run `make -C native`');
  return bin;
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
      const m = src.readonly ? readOnlyView(src.mounts[0]!) : src.mounts[0]!;
      const bind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
      // Deeper destinations after their parents, so a volume inside another lands on it.
      const binds = [...(src.binds ?? [])].sort((a, b) => depth(a.destination) - depth(b.destination));
      return [
        '--mount',
        bind ? 'none' : m.type,
        m.source,
        ...(bind && !m.options.includes('rbind') && !m.options.includes('bind') ? ['--option', 'rbind'] : []),
        ...m.options.flatMap((o) => ['--option', o]),
        '--tmpdir',
        src.tmpdir,
        ...binds.flatMap((b) => ['--bind', b.source, `${b.destination}${b.readonly ? ':ro' : ''}`]),
      ];
    }
  }
}

/**
 * A read-only view of a snapshot's mount: an active overlay becomes one with its upper dir as the
 * topmost lower and no upper or work dir, so reading a container's files never shares a work dir
 * with the container itself running (containerd's View mounts its parents the same way).
 */
export function readOnlyView(m: Mount): Mount {
  const options = m.options.filter((o) => o !== 'rw');
  if (m.type === 'overlay') {
    const upper = options.find((o) => o.startsWith('upperdir='))?.slice('upperdir='.length);
    const lower = options.find((o) => o.startsWith('lowerdir='))?.slice('lowerdir='.length);
    if (upper) {
      const rest = options.filter((o) => !o.startsWith('upperdir=') && !o.startsWith('workdir=') && !o.startsWith('lowerdir='));
      return { ...m, options: [...rest, `lowerdir=${[upper, ...(lower ? [lower] : [])].join(':')}`, 'ro'] };
    }
  }
  return { ...m, options: options.includes('ro') ? options : [...options, 'ro'] };
}

const depth = (p: string) => p.split('/').filter(Boolean).length;

/** What a stream's first bytes say it is compressed with. */
export function compressionOf(head: Buffer): 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none' {
  const magic = head.subarray(0, 6).toString('hex');
  if (magic.startsWith('1f8b')) return 'gzip';
  if (magic.startsWith('425a68')) return 'bzip2';
  if (magic === 'fd377a585a00') return 'xz';
  if (magic.startsWith('28b52ffd')) return 'zstd';
  return 'none';
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
  const kind = compressionOf(head);
  if (kind === 'gzip') {
    const gunzip = createGunzip();
    // A failure on either side destroys gunzip with it, which ends the iteration below with it.
    const fed = pipeline(Readable.from(whole()), gunzip);
    fed.catch(() => undefined);
    yield* gunzip as AsyncIterable<Buffer>;
    await fed;
    return;
  }
  if (kind !== 'none') throw notImplemented(`archive: ${kind} is not supported (send a plain or gzip tar)`);
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

  async archive(src: RootfsSource, path: string, o: ArchiveOptions = {}): Promise<Archive> {
    const args = [...sourceArgs(src), 'archive', path, ...(o.name === undefined ? ['--contents'] : ['--name', o.name])];
    if (o.uidMap?.length) args.push('--uidmap', idMap(o.uidMap));
    if (o.gidMap?.length) args.push('--gidmap', idMap(o.gidMap));
    const p = start(this.bin, `archive ${path}`, args, { stdout: 'stream', ...(o.signal ? { signal: o.signal } : {}) });
    const stream = p.stdout!;
    // Fails here, not inside the stream, when the path is not there (nothing written yet).
    try {
      await Promise.race([new Promise<void>((r) => stream.once('readable', () => r())), p.result]);
    } catch (e) {
      stream.on('error', () => undefined); // destroyed with e, which is thrown here instead
      throw e;
    }
    const done = p.result.then(({ done: d }) => ({ entries: Number(d.entries ?? 0), bytes: Number(d.bytes ?? 0) }));
    done.catch(() => undefined); // also reported through the stream
    return { stream, done };
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
    const args = src.kind === 'overlay' ? ['changes', 'overlay', src.upper, ...src.lowers] : ['changes', 'compare', src.dir, src.parent];
    const { output: all } = await run(this.bin, 'diff', args, { stdout: 'collect' });
    const changes: Change[] = [];
    for (let at = 0; at < all.length;) {
      const end = all.indexOf(0, at);
      if (end < 0) throw internal('diff: berth-rootfs ended a change without NUL');
      changes.push({ kind: String.fromCharCode(all[at]!) as Change['kind'], path: all.toString('utf8', at + 1, end) });
      at = end + 1;
    }
    return changes;
  }
}
