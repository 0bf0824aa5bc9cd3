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
    const local = await LocalContentStore.open(join(ctx.config.root, 'content'), {
      log,
      ingestExpiryMs: ctx.config.ingestExpiryHours * 3600_000,
      minFreeBytes: ctx.config.reservedFreeBytes,
    });
    const store = new NamespacedContentStore(ctx.db, local);
    ctx.provide(CONTENT, store);
    ctx.provide(LOCAL_CONTENT, local);
    ctx.provide(CONTENT_GC, {
      // Through the namespaced store: a blob between its rename and its record is never collected,
      // and observers (layer staging) hear of what is removed.
      deleteBlob: (digest) => store.collectBlob(digest),
      listBlobs: () => local.listBlobs(),
      abortIngest: (backendRef, evenIfOpen) => store.collectIngest(backendRef, evenIfOpen),
      listIngests: () => local.listIngests(),
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
