import { join } from 'node:path';
import { LocalContentStore } from '../content/local-store';
import { NamespacedContentStore } from '../metadata/content';
import { CONTENT_SERVICE, contentService } from '../services/content';
import type { Wiring } from './wiring';

/**
 * The content slice: the shared on-disk store under `<root>/content`, its namespaced view
 * (part 'content'), the GC hooks (`contentBackend`) and the Content service.
 */
export async function wireContent(w: Wiring): Promise<void> {
  const log = w.log.child({ component: 'content' });
  const local = await LocalContentStore.open(join(w.config.root, 'content'), { log, ingestExpiryMs: w.config.ingestExpiryHours * 3600_000, minFreeBytes: w.config.reservedFreeBytes });
  const store = new NamespacedContentStore(w.db, local);
  w.parts.set('content', store);
  w.contentBackend = {
    deleteBlob: (digest) => store.collectBlob(digest),
    listBlobs: () => local.listBlobs(),
    abortIngest: (backendRef, evenIfOpen) => store.collectIngest(backendRef, evenIfOpen),
    listIngests: () => local.listIngests(),
  };
  w.plugins.push({ type: 'io.containerd.content.v1', id: 'content' });
  // Like containerd, a delete schedules a collection (it may orphan a blob's on-disk file). 'gc' is
  // wired after content, hence the lookup at call time.
  const scheduleGc = () => (w.parts.get('gc') as { schedule(): void } | undefined)?.schedule();
  w.services.add(CONTENT_SERVICE, contentService(store, log, () => w.events, scheduleGc));
}
