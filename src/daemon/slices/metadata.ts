import { LevelImageStore } from '../../metadata/images';
import { LevelLeaseStore } from '../../metadata/leases';
import { LevelNamespaceStore } from '../../metadata/namespaces';
import { IMAGES_SERVICE, imagesService } from '../../services/images';
import { LEASES_SERVICE, leasesService } from '../../services/leases';
import { NAMESPACES_SERVICE, namespacesService } from '../../services/namespaces';
import type { Slice } from '../slice';
import { EVENTS } from './events';
import { GC } from './gc';

/** Namespaces, images and leases: their LevelDB stores and services. */
export const metadataSlice: Slice = {
  name: 'metadata',
  requires: [EVENTS, GC],
  provides: [],
  plugins: () => [
    { type: 'io.containerd.grpc.v1', id: 'namespaces', requires: ['io.containerd.metadata.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'images', requires: ['io.containerd.metadata.v1', 'io.containerd.gc.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'leases', requires: ['io.containerd.metadata.v1', 'io.containerd.gc.v1'] },
  ],
  wire(ctx) {
    const log = ctx.log.child({ component: 'metadata' });
    const events = ctx.need(EVENTS);
    const gc = ctx.need(GC);
    ctx.services.add(
      NAMESPACES_SERVICE,
      namespacesService(new LevelNamespaceStore(ctx.db), log, () => events),
    );
    ctx.services.add(
      IMAGES_SERVICE,
      imagesService(
        new LevelImageStore(ctx.db),
        log,
        () => events,
        () => gc,
      ),
    );
    ctx.services.add(
      LEASES_SERVICE,
      leasesService(new LevelLeaseStore(ctx.db), log, () => gc),
    );
  },
};
