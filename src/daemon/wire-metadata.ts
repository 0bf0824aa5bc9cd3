import type { ContentStore } from '../content/types';
import { background } from '../core/context';
import { isNotFound } from '../core/errors';
import { type GcContent, collectGarbage, nextLeaseExpiry } from '../metadata/gc';
import { GcScheduler } from '../metadata/gc-scheduler';
import { LevelImageStore } from '../metadata/images';
import { LevelLeaseStore } from '../metadata/leases';
import { LevelNamespaceStore } from '../metadata/namespaces';
import { IMAGES_SERVICE, imagesService } from '../services/images';
import { LEASES_SERVICE, leasesService } from '../services/leases';
import { NAMESPACES_SERVICE, namespacesService } from '../services/namespaces';
import type { Wiring } from './wiring';

/**
 * The metadata slice: namespace, image and lease stores with their services, and garbage
 * collection (part 'gc' = {collect, schedule}). Also exposes parts 'images', 'leases' and
 * 'namespaces' (the store objects) for later slices.
 */
export async function wireMetadata(w: Wiring): Promise<void> {
  const log = w.log.child({ component: 'metadata' });
  const namespaces = new LevelNamespaceStore(w.db);
  const images = new LevelImageStore(w.db);
  const leases = new LevelLeaseStore(w.db);

  const contentStore = () => w.parts.get('content') as ContentStore | undefined;
  const gcContent = (): GcContent | undefined => {
    const b = w.contentBackend;
    if (!b) return undefined;
    return {
      deleteBlob: (d) => b.deleteBlob(d),
      listBlobs: () => b.listBlobs(),
      abortIngest: (ref, evenIfOpen) => b.abortIngest(ref, evenIfOpen),
      listIngests: () => b.listIngests(),
      ingestUpdatedAt: async (ns, ref) => {
        const cs = contentStore();
        if (!cs) return new Date(); // cannot tell: treat as fresh
        try {
          return (await cs.status(background(ns), ref)).updatedAt;
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      },
    };
  };
  const gcLog = log.child({ component: 'gc' });
  const scheduler = new GcScheduler(
    () => collectGarbage({ db: w.db, log: gcLog, content: gcContent(), snapshots: w.snapshotCollectors, ingestExpiryMs: w.config.ingestExpiryHours * 3600_000 }),
    { delayMs: w.config.gc.scheduleDelayMs, log: gcLog },
  );
  w.db.onMutation(() => scheduler.onMutation());
  w.onClose(() => scheduler.close());
  const gc = { collect: () => scheduler.collect(), schedule: () => scheduler.schedule(), wakeAt: (at: Date) => scheduler.wakeAt(at), scheduler };
  // Leases from before a restart still expire on time.
  const firstExpiry = await nextLeaseExpiry(w.db);
  if (firstExpiry) scheduler.wakeAt(firstExpiry);
  w.parts.set('gc', gc);
  w.parts.set('namespaces', namespaces);
  w.parts.set('images', images);
  w.parts.set('leases', leases);
  // No start-up collection (containerd has one): it would race tests that ingest unreferenced
  // content right after start. The first delete sweeps crash orphans instead.

  w.plugins.push(
    { type: 'io.containerd.metadata.v1', id: 'level', requires: ['io.containerd.content.v1', 'io.containerd.snapshotter.v1'] },
    { type: 'io.containerd.gc.v1', id: 'scheduler', requires: ['io.containerd.metadata.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'namespaces', requires: ['io.containerd.metadata.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'images', requires: ['io.containerd.metadata.v1', 'io.containerd.gc.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'leases', requires: ['io.containerd.metadata.v1', 'io.containerd.gc.v1'] },
  );
  w.services.add(NAMESPACES_SERVICE, namespacesService(namespaces, log, () => w.events));
  w.services.add(IMAGES_SERVICE, imagesService(images, log, () => w.events, () => gc));
  w.services.add(LEASES_SERVICE, leasesService(leases, log, () => gc));
}
