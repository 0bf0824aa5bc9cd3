import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalEngine, Records } from '../../engine';
import { ENGINE_SERVICE, engineService } from '../../services/engine';
import { engineParityService } from '../../services/engine-parity';
import { helperPath } from '../../tasks/helper';
import { Part, type Slice } from '../slice';
import { CONTENT } from './content';
import { APPLIER, DIFFER } from './diff';
import { EVENTS } from './events';
import { IMAGES, LEASES, NAMESPACES } from './metadata';
import { SNAPSHOTTERS } from './snapshotters';
import { NETWORK } from './network';
import { CONTAINERS, TASKS } from './tasks';
import { ROOTFS, VOLUMES } from './volumes';

export const ENGINE = new Part<LocalEngine>('engine');

/**
 * berth's Docker-like engine (src/engine): its records under `<root>/engine` and in the metadata
 * DB. It requires the tasks slice, so the containers that ran on are followed again before the
 * socket is bound.
 */
export const engineSlice: Slice = {
  name: 'engine',
  requires: [CONTAINERS, NAMESPACES, IMAGES, CONTENT, LEASES, SNAPSHOTTERS, TASKS, APPLIER, DIFFER, EVENTS, VOLUMES, ROOTFS, NETWORK],
  provides: [ENGINE],
  plugins: () => [{ type: 'io.berth.engine.v1', id: 'engine', requires: ['io.containerd.runtime.v2', 'io.containerd.metadata.v1'] }],
  async wire(ctx) {
    const log = ctx.log.child({ component: 'engine' });
    const engine = new LocalEngine({
      records: new Records(ctx.db, join(ctx.config.root, 'engine')),
      containers: ctx.need(CONTAINERS),
      namespaces: ctx.need(NAMESPACES),
      images: ctx.need(IMAGES),
      content: ctx.need(CONTENT),
      leases: ctx.need(LEASES),
      snapshotters: ctx.need(SNAPSHOTTERS),
      snapshotter: ctx.config.defaultSnapshotter,
      tasks: ctx.need(TASKS),
      applier: ctx.need(APPLIER),
      differ: ctx.need(DIFFER),
      events: ctx.need(EVENTS),
      network: ctx.need(NETWORK),
      helperPath: helperPath(),
      volumes: ctx.need(VOLUMES),
      rootfs: ctx.need(ROOTFS),
      tmpdir: join(ctx.config.state, 'engine-mnt'),
      log,
    });
    await mkdir(join(ctx.config.state, 'engine-mnt'), { recursive: true, mode: 0o700 });
    const restored = await engine.restore();
    if (restored.running || restored.exited || restored.cleaned) log.info('engine containers restored', restored);
    ctx.onShutdown(() => engine.close());
    ctx.provide(ENGINE, engine);
    ctx.services.add(ENGINE_SERVICE, engineService(engine, ctx.log.child({ service: 'engine' })));
    ctx.services.add(ENGINE_SERVICE, engineParityService(engine, ctx.log.child({ service: 'engine' })));
  },
};
