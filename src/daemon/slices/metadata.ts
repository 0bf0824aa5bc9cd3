import { LevelImageStore } from '../../metadata/images';
import { LevelLeaseStore } from '../../metadata/leases';
import { LevelNamespaceStore } from '../../metadata/namespaces';
import { IMAGES_SERVICE, imagesService } from '../../services/images';
import { LEASES_SERVICE, leasesService } from '../../services/leases';
import { NAMESPACES_SERVICE, namespacesService } from '../../services/namespaces';
import { Part, type Slice } from '../slice';
import { EVENTS } from './events';
import { GC } from './gc';

/** The metadata stores, for slices that work on them (engine, transfer). */
export const NAMESPACES = new Part<LevelNamespaceStore>('namespaces');
export const IMAGES = new Part<LevelImageStore>('images');
export const LEASES = new Part<LevelLeaseStore>('leases');

/** Namespaces, images and leases: their LevelDB stores and services. */
export const metadataSlice: Slice = {
  name: 'metadata',
  requires: [EVENTS, GC],
  provides: [NAMESPACES, IMAGES, LEASES],
  plugins: () => [
    { type: 'io.containerd.grpc.v1', id: 'namespaces', requires: ['io.containerd.metadata.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'images', requires: ['io.containerd.metadata.v1', 'io.containerd.gc.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'leases', requires: ['io.containerd.metadata.v1', 'io.containerd.gc.v1'] },
  ],
  wire(ctx) {
    const log = ctx.log.child({ component: 'metadata' });
    const events = ctx.need(EVENTS);
    const gc = ctx.need(GC);
    const namespaces = new LevelNamespaceStore(ctx.db);
    const images = new LevelImageStore(ctx.db);
    const leases = new LevelLeaseStore(ctx.db);
    ctx.provide(NAMESPACES, namespaces);
    ctx.provide(IMAGES, images);
    ctx.provide(LEASES, leases);
    ctx.services.add(
      NAMESPACES_SERVICE,
      namespacesService(namespaces, log, () => events),
    );
    ctx.services.add(
      IMAGES_SERVICE,
      imagesService(
        images,
        log,
        () => events,
        () => gc,
      ),
    );
    ctx.services.add(
      LEASES_SERVICE,
      leasesService(leases, log, () => gc),
    );
  },
};
