import { ContainerStore } from '../metadata/containers';
import type { NamespacedSnapshotter } from '../metadata/snapshots';
import { CONTAINERS_SERVICE, containersService } from '../services/containers';
import { TASKS_SERVICE, tasksService } from '../services/tasks';
import { restoreTasks, TaskManager } from '../tasks';
import type { Wiring } from './wiring';

/**
 * Wires containers and tasks. Tasks reconnect to the monitors that outlived the previous berthd
 * before the socket is bound, so the first Tasks/List already shows them.
 */
export async function wireTasks(w: Wiring): Promise<void> {
  const containers = new ContainerStore(w.db);
  w.parts.set('containers', containers);
  const log = w.log.child({ component: 'tasks' });
  const snapshotters = (w.parts.get('snapshotters') as Map<string, NamespacedSnapshotter> | undefined) ?? new Map();
  const { cgroupParent, usernsRemap, subidFiles } = w.config;
  const tasks = new TaskManager({ state: w.config.state, cgroupParent, usernsRemap, subidFiles, containers, snapshotters, events: w.events, log });
  w.services.add(CONTAINERS_SERVICE, containersService(containers, w.events, w.log.child({ service: 'containers' }), (ns, c) => tasks.warmSpec(ns, c)));
  w.plugins.push({ type: 'io.containerd.grpc.v1', id: 'containers', requires: ['io.containerd.metadata.v1'] });

  // Monitors keep running across a daemon stop; only our watchers end.
  w.onShutdown(() => tasks.close());
  const { restored, removed } = await restoreTasks(tasks);
  if (restored || removed) log.info('tasks restored', { restored, removed });
  w.parts.set('tasks', tasks);
  w.services.add(TASKS_SERVICE, tasksService(tasks, w.log.child({ service: 'tasks' })));
  w.plugins.push(
    { type: 'io.containerd.runtime.v2', id: 'task', requires: ['io.containerd.metadata.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'tasks', requires: ['io.containerd.runtime.v2'] },
  );
}
