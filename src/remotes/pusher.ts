import { failedPrecondition, internal } from '../core/errors';
import type { Descriptor } from '../core/types';
import { responseError } from './errors';
import type { HttpResponse } from './http';
import { repositoryName } from '../core/reference';
import type { Repository } from './repository';
import { backoffMs, isRetryable, sleep } from './retry';

/**
 * Uploads (distribution spec "pushing"): cross-repository mounts, monolithic `PUT ?digest=` or
 * chunked `PATCH` + closing `PUT`, manifests by tag or digest. Locations may be relative or
 * absolute and carry their own query (`_state=…`), which is kept.
 */
export type MountResult = { mounted: true } | { mounted: false; location: URL };

export interface PushBlobOptions {
  /** Upload in PATCH chunks of this many bytes; 0 or absent = one monolithic PUT. */
  chunkSize?: number;
  /** An upload session already open (from a refused mount). */
  location?: URL;
  signal?: AbortSignal;
  /** Bytes acknowledged by the registry so far. */
  onProgress?: (bytes: number) => void;
}

function location(repo: Repository, res: HttpResponse, what: string): URL {
  const l = res.header('location');
  if (!l) throw internal(`${what}: ${res.status} without a Location header`);
  return new URL(l, res.url);
}

/** `POST …/blobs/uploads/?mount=<digest>&from=<repo>`: 201 mounted; 202 an upload to use instead. */
export async function mountBlob(repo: Repository, desc: Descriptor, from: string, signal?: AbortSignal): Promise<MountResult> {
  const what = `mount blob ${desc.digest} from ${from} into ${repositoryName(repo.ref)}`;
  const q = new URLSearchParams({ mount: desc.digest, from });
  const res = await repo.send({
    method: 'POST',
    path: `/v2/${repo.name}/blobs/uploads/?${q}`,
    scopes: [repo.scope('pull,push'), `repository:${from}:pull`],
    signal,
    what,
  });
  if (res.status === 201) {
    res.discard();
    return { mounted: true };
  }
  if (res.status === 202) {
    res.discard();
    return { mounted: false, location: location(repo, res, what) };
  }
  throw await responseError(what, res);
}

async function startUpload(repo: Repository, what: string, signal?: AbortSignal): Promise<URL> {
  const res = await repo.send({ method: 'POST', path: `/v2/${repo.name}/blobs/uploads/`, scopes: [repo.scope('pull,push')], signal, what });
  if (res.status !== 202) throw await responseError(what, res);
  res.discard();
  return location(repo, res, what);
}

/** The first `n` bytes of a stream (chunked uploads send one window of the source per PATCH). */
async function* take(src: AsyncIterable<Buffer>, n: number): AsyncGenerator<Buffer> {
  let left = n;
  if (left <= 0) return;
  for await (const c of src) {
    if (c.length >= left) {
      yield c.subarray(0, left);
      return;
    }
    left -= c.length;
    yield c;
  }
  throw failedPrecondition(`upload source ended ${left} bytes early`);
}

/** Where the registry's upload stands (`GET <location>` → `Range: 0-<last>`), for resuming chunks. */
async function uploadOffset(repo: Repository, loc: URL, what: string, signal?: AbortSignal): Promise<number> {
  const res = await repo.send({ method: 'GET', path: loc, scopes: [repo.scope('pull,push')], signal, what });
  res.discard();
  if (res.status !== 204) throw await responseError(what, res);
  const m = /^(?:bytes=)?0-(\d+)$/.exec(res.header('range') ?? '');
  return m ? Number(m[1]) + 1 : 0;
}

async function finish(
  repo: Repository,
  loc: URL,
  desc: Descriptor,
  what: string,
  body: (() => AsyncIterable<Buffer>) | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const url = new URL(loc);
  url.searchParams.set('digest', desc.digest);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': body ? String(desc.size) : '0' };
  const res = await repo.send({ method: 'PUT', path: url, headers, body, scopes: [repo.scope('pull,push')], signal, what, retry: false });
  if (res.status !== 201) throw await responseError(what, res);
  res.discard();
  const got = res.header('docker-content-digest');
  if (got && got !== desc.digest) throw failedPrecondition(`${what}: the registry stored ${got}, expected ${desc.digest}`);
}

async function chunked(
  repo: Repository,
  loc: URL,
  desc: Descriptor,
  open: (offset: number) => AsyncIterable<Buffer>,
  opts: PushBlobOptions,
  what: string,
): Promise<URL> {
  const size = opts.chunkSize!;
  let offset = 0;
  let failures = 0;
  const policy = repo.client.retryPolicy;
  while (offset < desc.size) {
    const n = Math.min(size, desc.size - offset);
    const from = offset;
    try {
      const res = await repo.send({
        method: 'PATCH',
        path: loc,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${from}-${from + n - 1}`, 'content-length': String(n) },
        body: () => take(open(from), n),
        scopes: [repo.scope('pull,push')],
        signal: opts.signal,
        what: `${what} (bytes ${from}-${from + n - 1})`,
        retry: false,
      });
      if (res.status !== 202) throw await responseError(what, res);
      res.discard();
      loc = location(repo, res, what);
      const m = /^(?:bytes=)?0-(\d+)$/.exec(res.header('range') ?? '');
      offset = m ? Number(m[1]) + 1 : from + n;
      failures = 0;
      opts.onProgress?.(offset);
    } catch (e) {
      if (!isRetryable(e) || opts.signal?.aborted || ++failures >= policy.attempts) throw e;
      await sleep(backoffMs(policy, failures), opts.signal);
      offset = await uploadOffset(repo, loc, what, opts.signal);
    }
  }
  return loc;
}

/**
 * Uploads a blob the registry does not have. `open(offset)` gives the blob's bytes from an
 * offset (a fresh stream each time: a failed monolithic upload starts over with a new session,
 * a failed chunk resumes where the registry's Range says).
 */
export async function pushBlob(repo: Repository, desc: Descriptor, open: (offset: number) => AsyncIterable<Buffer>, opts: PushBlobOptions = {}): Promise<void> {
  const what = `push blob ${desc.digest} to ${repositoryName(repo.ref)}`;
  const policy = repo.client.retryPolicy;
  let loc = opts.location;
  for (let n = 1; ; n++) {
    try {
      loc ??= await startUpload(repo, what, opts.signal);
      if (opts.chunkSize && opts.chunkSize > 0 && desc.size > opts.chunkSize) {
        loc = await chunked(repo, loc, desc, open, opts, what);
        await finish(repo, loc, desc, what, undefined, opts.signal);
      } else {
        await finish(repo, loc, desc, what, () => open(0), opts.signal);
        opts.onProgress?.(desc.size);
      }
      return;
    } catch (e) {
      if (!isRetryable(e) || opts.signal?.aborted || n >= policy.attempts) throw e;
      loc = undefined; // a new session: the old one may hold a partial body
      await sleep(backoffMs(policy, n), opts.signal);
    }
  }
}

export async function pushManifest(repo: Repository, desc: Descriptor, body: Buffer, object: string, signal?: AbortSignal): Promise<void> {
  const what = `push manifest ${repositoryName(repo.ref)}:${object}`;
  const res = await repo.send({
    method: 'PUT',
    path: `/v2/${repo.name}/manifests/${object}`,
    headers: { 'content-type': desc.mediaType },
    body: () => body,
    scopes: [repo.scope('pull,push')],
    signal,
    what,
  });
  if (res.status !== 201 && res.status !== 200) throw await responseError(what, res);
  res.discard();
  const got = res.header('docker-content-digest');
  if (got && got !== desc.digest) throw failedPrecondition(`${what}: the registry computed ${got}, expected ${desc.digest}`);
}
