import { ContainerStore } from '../../metadata/containers';
import { CONTAINERS_SERVICE, containersService } from '../../services/containers';
import { TASKS_SERVICE, tasksService } from '../../services/tasks';
import { restoreTasks, TaskManager } from '../../tasks';
import { Part, type Slice } from '../slice';
import { EVENTS } from './events';
import { LAUNCHER } from './launcher';
import { SNAPSHOTTERS } from './snapshotters';

export const CONTAINERS = new Part<ContainerStore>('containers');
export const TASKS = new Part<TaskManager>('tasks');

/**
 * Containers and tasks. Tasks reconnect to the monitors that outlived the previous berthd before
 * the socket is bound, so the first Tasks/List already shows them.
 */
export const tasksSlice: Slice = {
  name: 'tasks',
  requires: [EVENTS, SNAPSHOTTERS, LAUNCHER],
  provides: [CONTAINERS, TASKS],
  plugins: () => [
    { type: 'io.containerd.grpc.v1', id: 'containers', requires: ['io.containerd.metadata.v1'] },
    { type: 'io.containerd.runtime.v2', id: 'task', requires: ['io.containerd.metadata.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'tasks', requires: ['io.containerd.runtime.v2'] },
  ],
  async wire(ctx) {
    const events = ctx.need(EVENTS);
    const containers = new ContainerStore(ctx.db);
    ctx.provide(CONTAINERS, containers);
    const log = ctx.log.child({ component: 'tasks' });
    const { config } = ctx;
    const tasks = new TaskManager({
      state: config.state,
      cgroupParent: config.cgroupParent,
      usernsRemap: config.usernsRemap,
      subidFiles: config.subidFiles,
      containers,
      snapshotters: ctx.need(SNAPSHOTTERS),
      events,
      log,
      launcher: ctx.need(LAUNCHER),
    });
    ctx.services.add(
      CONTAINERS_SERVICE,
      containersService(containers, events, ctx.log.child({ service: 'containers' }), (ns, c) => tasks.warmSpec(ns, c)),
    );
    // Monitors keep running across a daemon stop; only our watchers end.
    ctx.onShutdown(() => tasks.close());
    const { restored, removed } = await restoreTasks(tasks);
    if (restored || removed) log.info('tasks restored', { restored, removed });
    ctx.provide(TASKS, tasks);
    ctx.services.add(TASKS_SERVICE, tasksService(tasks, ctx.log.child({ service: 'tasks' })));
  },
};
