import { createHash } from 'node:crypto';
import { isDigest, parseDigest } from '../core/digest';
import { failedPrecondition, invalidArgument, isNotFound, notFound, SupervisorError } from '../core/errors';
import type { Descriptor } from '../core/types';
import { isIndexType, isManifestType, isSchema1Type, MANIFEST_ACCEPT } from '../images/media-types';
import { requireImageDocument } from '../images/manifest';
import type { RegistryClient, RegistryRequest } from './client';
import { responseError } from './errors';
import type { RegistryHost } from './hosts';
import type { HttpResponse } from './http';
import { formatReference, type Reference, referenceObject, repositoryName } from '../core/reference';
import { mountBlob, pushBlob, pushManifest, type MountResult, type PushBlobOptions } from './pusher';
import { backoffMs, isRetryable, sleep } from './retry';
import { listTags, type ListTagsOptions } from './tags';
import { Verifier, verifyBuffer } from './verify';

/** containerd's MaxManifestSize: a larger manifest is refused. */
export const MAX_MANIFEST_BYTES = 4 * 1048 * 1048;

export interface FetchOptions {
  /** Start this many bytes in (resuming an ingest); only the size is checked then. */
  offset?: number;
  /**
   * Hash the bytes against the digest (default true). A caller that verifies them itself (the
   * content store's commit does) turns it off and saves a SHA-256 pass; the size is checked anyway.
   */
  verify?: boolean;
  signal?: AbortSignal;
}

/**
 * The distribution API of one repository: resolve a tag, fetch manifests and blobs (resumable,
 * verified), and push (existence checks, cross-repository mounts, monolithic or chunked uploads,
 * manifests by tag or digest).
 */
export class Repository {
  /** `library/busybox`: the name in `/v2/<name>/…`. */
  readonly name: string;

  constructor(
    readonly client: RegistryClient,
    readonly host: RegistryHost,
    readonly ref: Reference,
  ) {
    this.name = ref.path;
  }

  scope(actions: 'pull' | 'pull,push'): string {
    return `repository:${this.name}:${actions}`;
  }

  send(req: Omit<RegistryRequest, 'scopes'> & { scopes?: readonly string[] }): Promise<HttpResponse> {
    return this.client.send(this.host, { scopes: [this.scope('pull')], ...req });
  }

  private path(kind: 'manifests' | 'blobs', object: string): string {
    return `/v2/${this.name}/${kind}/${object}`;
  }

  /**
   * The descriptor the reference names (its digest when it has one, else its tag): HEAD, then GET
   * (hashing the body) when HEAD is refused or does not say the digest and size. Docker schema 1
   * is refused (NotImplemented); an unknown repository, tag or digest is NotFound.
   */
  async resolve(opts: { signal?: AbortSignal } = {}): Promise<Descriptor> {
    const object = referenceObject(this.ref);
    const what = `resolve ${formatReference(this.ref)}`;
    const req = { path: this.path('manifests', object), headers: { accept: MANIFEST_ACCEPT }, signal: opts.signal, what };
    const head = await this.send({ ...req, method: 'HEAD' });
    if (head.status === 404) {
      head.discard();
      // HEAD has no body: ask again with GET so the error says what is unknown (name or manifest).
      const get = await this.send({ ...req, method: 'GET' });
      throw await notFoundError(what, get);
    }
    // 405/501: a registry that does not do HEAD on manifests; GET instead.
    const refused = head.status === 405 || head.status === 501;
    if (!refused && (head.status < 200 || head.status > 299)) throw await responseError(what, head);
    let mediaType = contentType(head);
    let digest = this.ref.digest ?? head.header('docker-content-digest');
    let size = Number(head.header('content-length') ?? NaN);
    const headOk = !refused;
    head.discard();
    if (headOk && mediaType && isSchema1Type(mediaType)) requireImageDocument(what, mediaType);
    if (!headOk || !digest || !isDigest(digest) || !Number.isSafeInteger(size) || size <= 0 || !knownDocument(mediaType)) {
      const get = await this.send({ ...req, method: 'GET' });
      if (get.status === 404) throw await notFoundError(what, get);
      if (get.status < 200 || get.status > 299) throw await responseError(what, get);
      const body = await get.read(MAX_MANIFEST_BYTES).catch((e: unknown) => {
        throw e instanceof SupervisorError && e.kind === 'InvalidArgument'
          ? notFound(`${what}: rejecting a manifest larger than ${MAX_MANIFEST_BYTES} bytes`)
          : e;
      });
      mediaType = contentType(get);
      if (!knownDocument(mediaType)) mediaType = bodyMediaType(body) ?? mediaType;
      if (this.ref.digest) verifyBuffer({ digest: this.ref.digest, size: 0 }, body, what);
      else digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      size = body.length;
    }
    requireImageDocument(what, mediaType);
    if (size > MAX_MANIFEST_BYTES) throw notFound(`${what}: rejecting a ${size} byte manifest (limit ${MAX_MANIFEST_BYTES})`);
    return { mediaType, digest: digest!, size };
  }

  /** An index or manifest by digest, verified against the descriptor. */
  async fetchManifest(desc: Descriptor, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const what = `fetch manifest ${repositoryName(this.ref)}@${desc.digest}`;
    if (desc.size > MAX_MANIFEST_BYTES) throw invalidArgument(`${what}: ${desc.size} bytes is over the ${MAX_MANIFEST_BYTES} byte limit`);
    const accept = [desc.mediaType, MANIFEST_ACCEPT].filter(Boolean).join(', ');
    const res = await this.send({ method: 'GET', path: this.path('manifests', desc.digest), headers: { accept }, signal: opts.signal, what });
    if (res.status === 404) throw await notFoundError(what, res);
    if (res.status !== 200) throw await responseError(what, res);
    const body = await res.read(MAX_MANIFEST_BYTES);
    verifyBuffer(desc, body, what);
    return body;
  }

  /**
   * A blob's bytes (or a manifest's, by its media type) from `offset`. A dropped connection or a
   * stall is resumed with `Range: bytes=<received>-` (a server that answers 200 instead of 206 is
   * read from the start, the bytes already delivered skipped); tries are counted without
   * progress, so a connection cut every few MiB still completes. From offset 0 the bytes are
   * verified against the digest; from a later offset only the size is (the ingest that holds
   * the earlier bytes verifies the whole at commit).
   */
  async *fetchBlob(desc: Descriptor, opts: FetchOptions = {}): AsyncGenerator<Buffer> {
    const kind = isManifestType(desc.mediaType) || isIndexType(desc.mediaType) ? 'manifests' : 'blobs';
    const what = `fetch ${kind === 'blobs' ? 'blob' : 'manifest'} ${repositoryName(this.ref)}@${desc.digest}`;
    parseDigest(desc.digest);
    const start = opts.offset ?? 0;
    if (start < 0 || (desc.size > 0 && start > desc.size)) throw invalidArgument(`${what}: offset ${start} outside the blob (${desc.size} bytes)`);
    const verifier = start === 0 && opts.verify !== false ? new Verifier(desc, what) : undefined;
    let pos = start;
    let failures = 0;
    const policy = this.client.retryPolicy;
    while (desc.size === 0 || pos < desc.size) {
      const progressAtTry = pos;
      try {
        const res = await this.send({
          method: 'GET',
          path: this.path(kind, desc.digest),
          headers: pos > 0 ? { range: `bytes=${pos}-` } : {},
          signal: opts.signal,
          what,
        });
        if (res.status === 404) throw await notFoundError(what, res);
        let skip = 0;
        if (res.status === 206) {
          const m = /^bytes (\d+)-/.exec(res.header('content-range') ?? '');
          if (!m || Number(m[1]) !== pos) {
            res.discard();
            throw failedPrecondition(`${what}: asked for bytes from ${pos}, the registry sent ${JSON.stringify(res.header('content-range') ?? '')}`);
          }
        } else if (res.status === 200) {
          skip = pos; // Range ignored: the whole blob again
        } else if (res.status === 416 && pos > 0 && desc.size === 0) {
          res.discard();
          break;
        } else throw await responseError(what, res);
        for await (let chunk of res.body()) {
          if (skip > 0) {
            if (chunk.length <= skip) {
              skip -= chunk.length;
              continue;
            }
            chunk = chunk.subarray(skip);
            skip = 0;
          }
          if (desc.size > 0 && pos + chunk.length > desc.size)
            throw failedPrecondition(`${what}: the registry sent more than the descriptor's ${desc.size} bytes`);
          verifier?.update(chunk);
          pos += chunk.length;
          yield chunk;
        }
        if (desc.size === 0) break;
        if (pos < desc.size) throw new SupervisorError('Unavailable', `${what}: connection closed after ${pos} of ${desc.size} bytes`);
      } catch (e) {
        if (!isRetryable(e) || opts.signal?.aborted) throw e;
        if (pos > progressAtTry) failures = 0;
        if (++failures >= policy.attempts)
          throw new SupervisorError(
            'Unavailable',
            `${(e as Error).message} (gave up after ${failures} tries without progress, ${pos} of ${desc.size} bytes received)`,
            { cause: e },
          );
        const ms = backoffMs(policy, failures);
        this.client.log.debug('blob download interrupted, resuming', { what, at: pos, inMs: ms, err: e as Error });
        await sleep(ms, opts.signal);
      }
    }
    verifier?.finish();
  }

  /** Every tag of the repository, following the registry's pages (tags.ts). */
  tags(opts: ListTagsOptions = {}): Promise<string[]> {
    return listTags(this, opts);
  }

  /** Whether the repository has the blob (HEAD). */
  async blobExists(desc: Descriptor, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    const what = `check blob ${repositoryName(this.ref)}@${desc.digest}`;
    const kind = isManifestType(desc.mediaType) || isIndexType(desc.mediaType) ? 'manifests' : 'blobs';
    const res = await this.send({
      method: 'HEAD',
      path: this.path(kind, desc.digest),
      headers: kind === 'manifests' ? { accept: MANIFEST_ACCEPT } : {},
      scopes: [this.scope('pull,push')],
      signal: opts.signal,
      what,
    });
    res.discard();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await responseError(what, res);
  }

  mountBlob(desc: Descriptor, from: string, opts: { signal?: AbortSignal } = {}): Promise<MountResult> {
    return mountBlob(this, desc, from, opts.signal);
  }

  pushBlob(desc: Descriptor, open: (offset: number) => AsyncIterable<Buffer>, opts: PushBlobOptions = {}): Promise<void> {
    return pushBlob(this, desc, open, opts);
  }

  /** PUTs an index or manifest under `object` (a tag, or its digest). */
  pushManifest(desc: Descriptor, body: Buffer, object: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return pushManifest(this, desc, body, object, opts.signal);
  }
}

function contentType(res: HttpResponse): string {
  return (res.header('content-type') ?? '').split(';')[0]!.trim();
}

function knownDocument(mt: string): boolean {
  return isIndexType(mt) || isManifestType(mt) || isSchema1Type(mt);
}

/** The `mediaType` field of a manifest body, for registries that answer `application/json`. */
function bodyMediaType(body: Buffer): string | undefined {
  try {
    const j = JSON.parse(body.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; config?: unknown; schemaVersion?: unknown };
    if (typeof j.mediaType === 'string') return j.mediaType;
    if (j.schemaVersion === 1) return 'application/vnd.docker.distribution.manifest.v1+json';
    if (Array.isArray(j.manifests)) return 'application/vnd.oci.image.index.v1+json';
    if (j.config) return 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    /* not JSON: the caller reports the media type it has */
  }
  return undefined;
}

/** A 404 as NotFound, saying which (repository, manifest, blob) the registry did not know. */
async function notFoundError(what: string, res: HttpResponse): Promise<SupervisorError> {
  const e = await responseError(what, res);
  return isNotFound(e) ? e : notFound(e.message, { cause: e });
}
