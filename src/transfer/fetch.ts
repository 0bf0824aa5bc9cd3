import type { ContentStore, Writer } from '../content/types';
import type { Ctx } from '../core/context';
import { isAlreadyExists, isFailedPrecondition, isUnavailable } from '../core/errors';
import type { Descriptor, Labels } from '../core/types';
import { refKeyPrefix } from '../images/media-types';
import type { Repository } from '../remotes';
import { sleep } from '../remotes/retry';
import { infoOf, setLabels, withDistributionSource } from './content-io';
import type { LeaseManager, ProgressFn } from './types';

/** Writes in flight per blob before the download waits for the disk. */
const MAX_PENDING_WRITE_BYTES = 8 << 20;
const PROGRESS_INTERVAL_MS = 100;
/** Polling for a blob another pull is downloading: 50 ms doubling to 1 s. */
const LOCK_WAIT_MS = 50;
const LOCK_WAIT_MAX_MS = 1000;

/** containerd's remotes.MakeRefKey: `layer-sha256:…`, `config-…`, `manifest-…`, `index-…`. */
export function ingestRef(desc: Descriptor): string {
  return `${refKeyPrefix(desc.mediaType)}-${desc.digest}`;
}

export interface FetchContext {
  content: ContentStore;
  leases: LeaseManager;
  repo: Repository;
  lease?: string;
  onProgress?: ProgressFn;
}

/**
 * Makes one blob present in the content store: a blob already there is only labelled and held by
 * the lease; otherwise it streams from the registry into the ingest `<kind>-<digest>`, resuming a
 * partial ingest at its offset (the registry is asked for the rest with Range), and is committed
 * verified (digest and size) with containerd's distribution-source label. A partial ingest stays
 * behind on failure, for the next attempt; one that fails verification is aborted.
 * Returns whether bytes were downloaded.
 */
/** `received`: called once the blob's bytes are all in, before its commit. */
export async function fetchToStore(
  ctx: Ctx,
  f: FetchContext,
  desc: Descriptor,
  opts: { received?: () => void; attempt?: number } = {},
): Promise<'exists' | 'fetched'> {
  const attempt = opts.attempt ?? 0;
  const ref = f.repo.ref;
  const existing = await infoOf(ctx, f.content, desc.digest);
  if (existing) {
    await setLabels(ctx, f.content, desc.digest, withDistributionSource(existing.labels, ref));
    if (f.lease) await f.leases.addResource(ctx, f.lease, { type: 'content', id: desc.digest });
    f.onProgress?.({ event: 'exists', name: desc.digest, desc, progress: desc.size, total: desc.size });
    return 'exists';
  }
  const ingest = ingestRef(desc);
  let w: Writer;
  try {
    w = await f.content.writer(ctx, { ref: ingest, total: desc.size, expected: desc.digest });
  } catch (e) {
    if (isAlreadyExists(e)) return fetchToStore(ctx, f, desc, { received: opts.received }); // committed meanwhile (another pull of a shared layer)
    // Another pull is downloading this very blob (its ingest is locked): wait for it, as
    // containerd's fetch does, then take the blob it committed (or its ingest, if it gave up).
    if (!isUnavailable(e)) throw e;
    f.onProgress?.({ event: 'waiting', name: desc.digest, desc, progress: 0, total: desc.size });
    await sleep(Math.min(LOCK_WAIT_MAX_MS, LOCK_WAIT_MS * 2 ** Math.min(attempt, 4)), ctx.signal);
    return fetchToStore(ctx, f, desc, { received: opts.received, attempt: attempt + 1 });
  }
  const labels: Labels = withDistributionSource(undefined, ref);
  try {
    let offset = (await w.status()).offset;
    if (offset > desc.size) {
      await w.truncate(0);
      offset = 0;
    }
    f.onProgress?.({ event: offset > 0 ? 'resuming' : 'downloading', name: desc.digest, desc, progress: offset, total: desc.size });
    if (offset < desc.size) await copy(ctx, f, w, desc, offset);
    opts.received?.();
    await w.commit(desc.size, desc.digest, labels);
  } catch (e) {
    if (isAlreadyExists(e)) {
      await setLabels(ctx, f.content, desc.digest, labels);
      return 'fetched';
    }
    await w.close().catch(() => undefined);
    // A blob that does not verify would fail the same way when resumed: start it over next time.
    if (isFailedPrecondition(e)) await f.content.abort(ctx, ingest).catch(() => undefined);
    throw e;
  }
  f.onProgress?.({ event: 'complete', name: desc.digest, desc, progress: desc.size, total: desc.size });
  return 'fetched';
}

async function copy(ctx: Ctx, f: FetchContext, w: Writer, desc: Descriptor, offset: number): Promise<void> {
  let done = offset;
  let last = 0;
  const pending: Array<{ p: Promise<unknown>; n: number }> = [];
  let pendingBytes = 0;
  try {
    // The content store hashes what it writes and verifies at commit: no second hash here.
    for await (const chunk of f.repo.fetchBlob(desc, { offset, signal: ctx.signal, verify: false })) {
      // The writer applies writes in call order; a few MiB in flight overlap network and disk.
      const p = w.write(chunk);
      p.catch(() => undefined);
      pending.push({ p, n: chunk.length });
      pendingBytes += chunk.length;
      while (pendingBytes > MAX_PENDING_WRITE_BYTES) {
        const first = pending.shift()!;
        await first.p;
        pendingBytes -= first.n;
      }
      done += chunk.length;
      const now = Date.now();
      if (now - last >= PROGRESS_INTERVAL_MS) {
        last = now;
        f.onProgress?.({ event: 'downloading', name: desc.digest, desc, progress: done, total: desc.size });
      }
    }
  } finally {
    await Promise.allSettled(pending.map((x) => x.p));
  }
  for (const x of pending) await x.p; // surface a write error
}
