import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import { parseReference, repositoryName } from '../core/reference';
import type { Image } from '../images/types';
import { pull, type PullRequest, type PullResult } from './pull';
import type { Writable } from 'node:stream';
import { exportImages, type ExportRequest } from './export';
import { importImages, type ImportRequest } from './import';
import { push, type PushRequest, type PushResult } from './push';
import { imageNames, type ImageDestination } from './naming';
import { saveImage } from './save';
import type { RegistryFactory, RegistryOptions, TransferStores } from './types';

export interface ListTagsRequest extends RegistryOptions {
  /** A repository, without tag or digest: `busybox`, `127.0.0.1:5000/team/app`. */
  repository: string;
  /** Tags per page asked of the registry (`n=`); its default when unset. */
  pageSize?: number;
}

export interface ListTagsResult {
  /** The repository's full name: `docker.io/library/busybox`. */
  name: string;
  /** In the registry's order. */
  tags: string[];
}

export interface TransferOptions {
  registry: RegistryFactory;
  /** Concurrent blob downloads per pull (containerd's max_concurrent_downloads is 3). */
  maxConcurrentDownloads?: number;
  /** Concurrent blob uploads per push. */
  maxConcurrentUploads?: number;
  /** How long a failed operation's lease keeps what it committed (default 24 h). */
  leaseExpiryMs?: number;
}

/**
 * pull, push, tag, import and export as domain operations: what the gRPC Transfer service (and
 * later the Docker API's /images/create and the CRI's PullImage) call. Every method takes the
 * request context (namespace, cancellation), reports progress through the request's callback and
 * throws errors of the taxonomy.
 */
export class TransferService {
  constructor(
    readonly stores: TransferStores,
    readonly opts: TransferOptions,
  ) {}

  pull(ctx: Ctx, req: PullRequest): Promise<PullResult> {
    return pull(ctx, this.stores, { registry: this.opts.registry, concurrency: this.opts.maxConcurrentDownloads, leaseExpiryMs: this.opts.leaseExpiryMs }, req);
  }

  push(ctx: Ctx, req: PushRequest): Promise<PushResult> {
    return push(ctx, this.stores, { registry: this.opts.registry, concurrency: this.opts.maxConcurrentUploads }, req);
  }

  /**
   * The repository's tags in the registry (`docker pull --all-tags`), with the same hosts
   * configuration and credentials (the caller's, then berthd's Docker config) as a pull.
   */
  async listTags(ctx: Ctx, req: ListTagsRequest): Promise<ListTagsResult> {
    const ref = parseReference(req.repository, { defaultTag: false });
    if (ref.tag || ref.digest) throw invalidArgument(`list tags of ${req.repository}: name a repository, without a tag or digest`);
    const client = this.opts.registry({ credentials: req.credentials, headers: req.headers, plainHttp: req.plainHttp });
    try {
      return { name: repositoryName(ref), tags: await client.repository(ref).tags({ pageSize: req.pageSize, signal: ctx.signal }) };
    } finally {
      client.close();
    }
  }

  /** Writes the images as one tar (OCI layout or `docker save`) to `out`. */
  export(ctx: Ctx, req: ExportRequest, out: Writable): Promise<void> {
    return exportImages(ctx, this.stores, req, out);
  }

  /** Reads an OCI layout or `docker save` tar from `input`; returns the images it created or updated. */
  import(ctx: Ctx, input: AsyncIterable<Buffer>, req: ImportRequest = {}): Promise<Image[]> {
    return importImages(ctx, this.stores, input, req);
  }

  /** Another name for an existing image (containerd's transfer tag: ImageStore → ImageStore). */
  async tag(ctx: Ctx, source: string, name: string, labels?: Record<string, string>): Promise<Image> {
    const src = await this.stores.images.get(ctx, source);
    return saveImage(ctx, this.stores, { name, target: src.target, labels: labels ?? src.labels });
  }

  /**
   * The existing image `source` under the names a destination gives (containerd's ImageStore
   * naming, naming.ts); labels are the destination's, else the source image's.
   */
  async tagAs(ctx: Ctx, source: string, dest: ImageDestination): Promise<Image[]> {
    const src = await this.stores.images.get(ctx, source);
    const names = imageNames({ ...dest, labels: dest.labels && Object.keys(dest.labels).length ? dest.labels : src.labels }, src.target, false);
    if (!names.length) throw invalidArgument(`tag ${source}: the destination names no image`);
    const out: Image[] = [];
    for (const n of names) out.push(await saveImage(ctx, this.stores, { name: n.name, target: src.target, labels: n.labels }));
    return out;
  }
}
