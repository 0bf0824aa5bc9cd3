import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import type { ContentStore } from '../content/types';
import type { Ctx } from '../core/context';
import { isDigest } from '../core/digest';
import { invalidArgument, isAlreadyExists, notImplemented, SupervisorError } from '../core/errors';
import { writeBlob } from './content-io';

/**
 * Reads an image archive as a stream (an OCI layout tar, `docker save` or `skopeo copy … docker-archive:`
 * output): the small metadata files are kept in memory, every other regular file goes straight
 * into the content store: `blobs/<alg>/<hex>` verified against its name, anything else (Docker's
 * `<id>/layer.tar`, `<hex>.json`) hashed as it is written. Symlinks (docker save links repeated
 * layers) resolve to their target's blob.
 */
export interface ArchiveBlob {
  digest: string;
  size: number;
  /** The first bytes, to tell gzip, zstd and plain tar apart. */
  magic: Buffer;
}

export interface ArchiveContents {
  ociLayout?: unknown;
  indexJson?: Buffer;
  manifestJson?: Buffer;
  blobs: Map<string, ArchiveBlob>;
}

const METADATA = new Set(['oci-layout', 'index.json', 'manifest.json', 'repositories']);
const METADATA_LIMIT = 16 << 20;
/** Legacy per-layer files of `docker save` that are not content. */
const IGNORED = /(^|\/)(json|VERSION)$/;

export async function readArchive(
  ctx: Ctx,
  content: ContentStore,
  input: AsyncIterable<Buffer>,
  onFile?: (path: string, size: number) => void,
): Promise<ArchiveContents> {
  try {
    return await read(ctx, content, input, onFile);
  } catch (e) {
    if (e instanceof SupervisorError) throw e;
    throw invalidArgument(`import: not a readable tar archive: ${(e as Error).message}`, { cause: e });
  }
}

async function read(ctx: Ctx, content: ContentStore, input: AsyncIterable<Buffer>, onFile?: (path: string, size: number) => void): Promise<ArchiveContents> {
  const out: ArchiveContents = { blobs: new Map() };
  const symlinks = new Map<string, string>();
  const extract = tar.extract();
  const feeding = pipeline(Readable.from(input), extract);
  feeding.catch(() => undefined);
  for await (const entry of extract) {
    const h = entry.header;
    const name = posix
      .normalize(h.name)
      .replace(/^(\.\/)+/, '')
      .replace(/\/$/, '');
    if (name.startsWith('../') || name.startsWith('/')) {
      entry.resume();
      throw invalidArgument(`archive entry ${JSON.stringify(h.name)}: path leaves the archive`);
    }
    if (h.type === 'symlink' && h.linkname) {
      symlinks.set(name, posix.normalize(posix.join(posix.dirname(name), h.linkname)));
      entry.resume();
      continue;
    }
    if (h.type !== 'file' && h.type !== 'contiguous-file') {
      entry.resume();
      continue;
    }
    const size = h.size ?? 0;
    if (METADATA.has(name)) {
      if (size > METADATA_LIMIT) throw invalidArgument(`archive ${name}: ${size} bytes is more than ${METADATA_LIMIT}`);
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      if (name === 'index.json') out.indexJson = data;
      else if (name === 'manifest.json') out.manifestJson = data;
      else if (name === 'oci-layout') out.ociLayout = safeJson(data);
      continue;
    }
    if (IGNORED.test(name)) {
      entry.resume();
      continue;
    }
    onFile?.(name, size);
    out.blobs.set(name, await ingest(ctx, content, name, size, entry as AsyncIterable<Buffer>));
  }
  await feeding;
  for (const [name, target] of symlinks) {
    const b = out.blobs.get(target);
    if (b) out.blobs.set(name, b);
  }
  return out;
}

function safeJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Captures the first bytes of a stream while passing it on. */
async function* peek(src: AsyncIterable<Buffer>, into: Buffer[]): AsyncGenerator<Buffer> {
  let have = 0;
  for await (const c of src) {
    if (have < 8) {
      into.push(c.subarray(0, 8 - have));
      have += Math.min(c.length, 8 - have);
    }
    yield c;
  }
}

async function ingest(ctx: Ctx, content: ContentStore, name: string, size: number, data: AsyncIterable<Buffer>): Promise<ArchiveBlob> {
  const head: Buffer[] = [];
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
  if (m && isDigest(`${m[1]}:${m[2]}`)) {
    const digest = `${m[1]}:${m[2]}`;
    const ref = `import-${digest}`;
    try {
      await writeBlob(ctx, content, ref, { mediaType: '', digest, size }, peek(data, head));
    } catch (e) {
      await content.abort(ctx, ref).catch(() => undefined); // an archive cannot be resumed
      throw e;
    }
    for await (const _ of data) void _; // a blob already present was not read
    return { digest, size, magic: Buffer.concat(head) };
  }
  const ref = `import-${randomUUID()}`;
  const w = await content.writer(ctx, { ref, total: size });
  try {
    for await (const c of peek(data, head)) await w.write(c);
    const digest = w.digest();
    try {
      await w.commit(size);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    return { digest, size, magic: Buffer.concat(head) };
  } catch (e) {
    await w.close().catch(() => undefined);
    await content.abort(ctx, ref).catch(() => undefined);
    throw e;
  }
}

/**
 * The archive's bytes with a compression layer taken off: gzip (`docker save | gzip`, a `.tar.gz`)
 * is inflated as it streams, as containerd's import does when no media type is given; zstd is
 * refused (Node 20's zlib has none); anything else passes as it is.
 */
export async function* decompressed(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < 4) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    have += r.value.length;
  }
  const first = Buffer.concat(head);
  const rest = async function* (): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  };
  if (first.length >= 4 && first.readUInt32LE(0) === 0xfd2fb528)
    throw notImplemented('import: a zstd-compressed archive is not supported; decompress it first (zstd -d)');
  if (!(first[0] === 0x1f && first[1] === 0x8b)) return yield* rest();
  const gunzip = createGunzip();
  const feeding = pipeline(Readable.from(rest()), gunzip);
  feeding.catch(() => undefined);
  try {
    yield* gunzip as AsyncIterable<Buffer>;
    await feeding;
  } catch (e) {
    throw invalidArgument(`import: the gzip-compressed archive does not inflate: ${(e as Error).message}`, { cause: e });
  }
}
