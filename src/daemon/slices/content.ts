import { join } from 'node:path';
import { LocalContentStore } from '../../content/local-store';
import { background } from '../../core/context';
import { isNotFound } from '../../core/errors';
import { NamespacedContentStore } from '../../metadata/content';
import type { GcContent } from '../../metadata/gc';
import { Part, type Slice } from '../slice';

/** The namespaced content store (what services and diff use). */
export const CONTENT = new Part<NamespacedContentStore>('content');
/** The shared on-disk store under `<root>/content`: its files are read directly by berth-unpack. */
export const LOCAL_CONTENT = new Part<LocalContentStore>('content.local');
/** What garbage collection does to content that lives outside the metadata DB. */
export const CONTENT_GC = new Part<GcContent>('content.gc');

/** The content store: blobs and resumable ingests on disk, with their namespaced metadata records. */
export const contentSlice: Slice = {
  name: 'content',
  requires: [],
  provides: [CONTENT, LOCAL_CONTENT, CONTENT_GC],
  plugins: () => [{ type: 'io.containerd.content.v1', id: 'content' }],
  async wire(ctx) {
    const log = ctx.log.child({ component: 'content' });
    const local = await LocalContentStore.open(join(ctx.config.root, 'content'), { log, ingestExpiryMs: ctx.config.ingestExpiryHours * 3600_000 });
    const store = new NamespacedContentStore(ctx.db, local);
    ctx.provide(CONTENT, store);
    ctx.provide(LOCAL_CONTENT, local);
    ctx.provide(CONTENT_GC, {
      // A blob between its on-disk rename and its metadata record is never collected.
      deleteBlob: async (digest) => {
        if (!store.isCommitting(digest)) await local.deleteBlob(digest);
      },
      listBlobs: () => local.listBlobs(),
      abortIngest: async (backendRef) => {
        if (!local.isLocked(backendRef)) await local.abort(backendRef).catch(() => undefined);
      },
      ingestUpdatedAt: async (ns, ref) => {
        try {
          return (await store.status(background(ns), ref)).updatedAt;
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      },
    });
  },
};
