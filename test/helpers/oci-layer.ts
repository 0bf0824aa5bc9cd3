/**
 * Layer tars built in code, streamed straight to blobs: pack → sha256 (diff_id) → gzip → sha256 (digest).
 * Nothing is buffered whole, so a 1 GiB layer costs no more memory than a 1 KiB one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Duplex, PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';

type TarHeader = Partial<tar.Header> & { name: string };

export const MEDIA_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

/** gzip (default, Node's zlib), zstd (the `zstd` CLI, Debian package zstd) or none. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** Default mtime for entries: fixed so that the same spec always gives the same digests. */
export const FIXED_MTIME = 1700000000;

/** File content: literal bytes, or a stream of known size (host file, generated data). */
export type Content = string | Buffer | { size: number; stream(): Readable };

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface FsEntry {
  path: string;
  type: EntryType;
  mode?: number; // permission + setuid/setgid/sticky bits (07777); default 0644 files, 0755 dirs
  uid?: number;
  gid?: number;
  mtime?: number; // seconds since the epoch
  content?: Content; // files only
  linkname?: string; // symlink target, or hardlink target path (inside the image)
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>; // written as PAX SCHILY.xattr.<name>
}

/** `.wh.<name>` in the parent of `path`: deletes path from lower layers. */
export interface WhiteoutEntry {
  path: string;
  type: 'whiteout';
}

/** `<path>/.wh..wh..opq`: hides everything lower layers put in directory `path`. */
export interface OpaqueEntry {
  path: string;
  type: 'opaque';
}

export type LayerEntry = FsEntry | WhiteoutEntry | OpaqueEntry;

export type LayerSpec =
  | { entries: LayerEntry[]; compression?: Compression; gzipLevel?: number }
  | { hostDir: string; compression?: Compression; gzipLevel?: number }
  /** A ready-made tar file (e.g. written by GNU tar from a real root filesystem). */
  | { tarFile: string; compression?: Compression; gzipLevel?: number };

export interface BuiltLayer {
  mediaType: string;
  digest: string; // sha256:<hex> of the blob as stored
  size: number; // blob size
  diffId: string; // sha256:<hex> of the uncompressed tar
  uncompressedSize: number;
}

/** Literal content from a host file, streamed (size taken now). */
export function hostFile(path: string): Content {
  const size = statSync(path).size;
  return { size, stream: () => createReadStream(path) };
}

/** Deterministic incompressible bytes (xorshift), for big layers in benchmarks. */
export function pseudoRandom(size: number, seed = 1): Content {
  return {
    size,
    stream: () => {
      let s = seed >>> 0 || 1;
      let left = size;
      return new Readable({
        read() {
          if (left === 0) return void this.push(null);
          const n = Math.min(left, 1 << 20);
          const buf = Buffer.allocUnsafe(n + 3);
          for (let i = 0; i < n; i += 4) {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            buf.writeUInt32LE(s >>> 0, i);
          }
          left -= n;
          this.push(buf.subarray(0, n));
        },
      });
    },
  };
}

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  hex(): string {
    return this.hash.digest('hex');
  }
}

function clean(p: string): string {
  return p.replace(/^\/+/, '').replace(/\/+$/, '');
}

function parentAndBase(p: string): [string, string] {
  const c = clean(p);
  const i = c.lastIndexOf('/');
  return i < 0 ? ['', c] : [c.slice(0, i + 1), c.slice(i + 1)];
}

const TAR_TYPE: Record<EntryType, tar.Header['type']> = {
  file: 'file',
  dir: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
};

const S_IFMT_BITS: Record<EntryType, number> = {
  file: 0o100000,
  hardlink: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

function contentSize(c: Content | undefined): number {
  if (c === undefined) return 0;
  if (typeof c === 'string') return Buffer.byteLength(c);
  if (Buffer.isBuffer(c)) return c.length;
  return c.size;
}

async function addEntry(pack: tar.Pack, e: LayerEntry): Promise<void> {
  const mtime = new Date(FIXED_MTIME * 1000);
  if (e.type === 'whiteout') {
    const [dir, base] = parentAndBase(e.path);
    return entry(pack, { name: `${dir}.wh.${base}`, type: 'file', mode: 0o644, size: 0, mtime }, '');
  }
  if (e.type === 'opaque') {
    return entry(pack, { name: `${clean(e.path)}/.wh..wh..opq`, type: 'file', mode: 0o644, size: 0, mtime }, '');
  }
  const h: TarHeader = {
    name: clean(e.path) + (e.type === 'dir' ? '/' : ''),
    type: TAR_TYPE[e.type],
    // tar-stream replaces a falsy mode with 0755/0644; the file-type bits keep mode 000 truthy and
    // are masked off (07777) when the header is encoded.
    mode: (e.mode ?? (e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644)) | S_IFMT_BITS[e.type],
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    mtime: new Date((e.mtime ?? FIXED_MTIME) * 1000),
    size: e.type === 'file' ? contentSize(e.content) : 0,
  };
  if (e.type === 'symlink') h.linkname = e.linkname ?? '';
  if (e.type === 'hardlink') h.linkname = clean(e.linkname ?? '');
  if (e.type === 'char' || e.type === 'block') {
    h.devmajor = e.devmajor ?? 0;
    h.devminor = e.devminor ?? 0;
  }
  if (e.xattrs && Object.keys(e.xattrs).length) {
    const pax: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.xattrs)) pax[`SCHILY.xattr.${k}`] = v;
    h.pax = pax;
  }
  if (e.type !== 'file' || e.content === undefined || typeof e.content === 'string' || Buffer.isBuffer(e.content)) {
    return entry(pack, h, e.type === 'file' ? ((e.content as string | Buffer | undefined) ?? '') : undefined);
  }
  const src = e.content.stream();
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry(h, (err) => (err ? reject(err) : resolve()));
    src.on('error', reject);
    src.pipe(sink);
  });
}

/** A file header without a body leaves tar-stream waiting for data forever, so files always pass one. */
function entry(pack: tar.Pack, h: TarHeader, body?: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (body === undefined) pack.entry(h, cb);
    else pack.entry(h, body, cb);
  });
}

/** The uncompressed tar of a layer spec, as a stream (entries in the order given). */
export function layerTarStream(spec: LayerSpec): Readable {
  if ('tarFile' in spec) return createReadStream(spec.tarFile);
  if ('hostDir' in spec) {
    // GNU tar keeps hardlinks, devices, xattrs and numeric ids exactly; sorted for determinism.
    const child = spawn('tar', ['-C', spec.hostDir, '--sort=name', '--numeric-owner', '--xattrs', '--xattrs-include=*', '-cf', '-', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    // End the stream only once tar has exited 0: a failing tar must fail the layer, not truncate it.
    const out = new PassThrough();
    child.stdout.pipe(out, { end: false });
    child.on('error', (e) => out.destroy(e));
    child.on('close', (code) => (code === 0 ? out.end() : out.destroy(new Error(`tar of ${spec.hostDir} exited ${code}: ${err}`))));
    return out;
  }
  const pack = tar.pack();
  void (async () => {
    try {
      // Real tar writers give a hardlink header its target's attributes, and containerd applies the
      // link header's mode/owner/mtime to the shared inode, so unset fields are inherited here.
      const files = new Map<string, FsEntry>();
      for (const e of spec.entries) {
        if (e.type === 'file') files.set(clean(e.path), e);
        const target = e.type === 'hardlink' ? files.get(clean(e.linkname ?? '')) : undefined;
        if (e.type === 'hardlink' && target) await addEntry(pack, { mode: target.mode, uid: target.uid, gid: target.gid, mtime: target.mtime, ...e });
        else await addEntry(pack, e);
      }
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
    }
  })();
  // tar-stream packs are streamx streams; wrap so node's pipeline() sees a real Readable.
  return Readable.from(pack);
}

/** `zstd -c` as a stream stage (the CLI: Node 20's zlib has no zstd). */
function zstdStage(level = 3): Duplex {
  const child = spawn('zstd', ['-q', '-c', `-${level}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const out = new PassThrough();
  child.stdout.pipe(out, { end: false });
  child.on('error', (e) => out.destroy(e));
  child.on('close', (code) => (code === 0 ? out.end() : out.destroy(new Error(`zstd exited ${code}: ${err}`))));
  return Duplex.from({ writable: child.stdin, readable: out });
}

/** Writes one layer into `<layoutDir>/blobs/sha256/` and returns its descriptor data. */
export async function writeLayer(layoutDir: string, spec: LayerSpec): Promise<BuiltLayer> {
  const blobs = join(layoutDir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const tmp = join(blobs, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const raw = new Hasher();
  const compression = spec.compression ?? 'gzip';
  try {
    if (compression !== 'none') {
      const packed = new Hasher();
      const compress = compression === 'zstd' ? zstdStage() : createGzip({ level: spec.gzipLevel ?? 6 });
      await pipeline(layerTarStream(spec), raw, compress, packed, createWriteStream(tmp));
      const hex = packed.hex();
      await rename(tmp, join(blobs, hex));
      const mediaType = compression === 'zstd' ? MEDIA_LAYER_ZSTD : MEDIA_LAYER_GZIP;
      return { mediaType, digest: `sha256:${hex}`, size: packed.bytes, diffId: `sha256:${raw.hex()}`, uncompressedSize: raw.bytes };
    }
    await pipeline(layerTarStream(spec), raw, createWriteStream(tmp));
    const hex = raw.hex();
    await rename(tmp, join(blobs, hex));
    const size = (await stat(join(blobs, hex))).size;
    return { mediaType: MEDIA_LAYER_TAR, digest: `sha256:${hex}`, size, diffId: `sha256:${hex}`, uncompressedSize: size };
  } finally {
    await rm(tmp, { force: true });
  }
}
