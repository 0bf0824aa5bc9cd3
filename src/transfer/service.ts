import type { Ctx } from '../core/context';
import type { Image } from '../images/types';
import { pull, type PullRequest, type PullResult } from './pull';
import type { Writable } from 'node:stream';
import { exportImages, type ExportRequest } from './export';
import { importImages, type ImportRequest } from './import';
import { push, type PushRequest, type PushResult } from './push';
import { saveImage } from './save';
import type { RegistryFactory, TransferStores } from './types';

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
}
