import { join } from 'node:path';
import { VolumeRecords } from '../../metadata/volumes';
import { RootfsTool } from '../../rootfs';
import { LocalVolumes } from '../../volumes';
import { Part, type Slice } from '../slice';

export const VOLUMES = new Part<LocalVolumes>('volumes');
export const ROOTFS = new Part<RootfsTool>('rootfs');

/**
 * The engine's volumes (local driver, `<root>/volumes/<namespace>/<name>/_data`, records and users
 * in the metadata DB) and berth-rootfs, through which the engine reads and writes containers'
 * filesystems. Opening finishes removals a crash interrupted and detaches leftover mounts, before
 * the engine restores its containers.
 */
export const volumesSlice: Slice = {
  name: 'volumes',
  requires: [],
  provides: [VOLUMES, ROOTFS],
  plugins: () => [{ type: 'io.berth.volume.v1', id: 'local' }],
  async wire(ctx) {
    const rootfs = new RootfsTool();
    const volumes = await LocalVolumes.open({
      root: join(ctx.config.root, 'volumes'),
      records: new VolumeRecords(ctx.db),
      rootfs,
      log: ctx.log.child({ component: 'volumes' }),
    });
    ctx.provide(ROOTFS, rootfs);
    ctx.provide(VOLUMES, volumes);
  },
};
