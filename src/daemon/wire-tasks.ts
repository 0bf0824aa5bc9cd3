import { ContainerStore } from '../metadata/containers';
import { CONTAINERS_SERVICE, containersService } from '../services/containers';
import type { Wiring } from './wiring';

/** Wires containers (and, with the tasks issue, tasks). */
export async function wireTasks(w: Wiring): Promise<void> {
  const containers = new ContainerStore(w.db);
  w.parts.set('containers', containers);
  w.services.add(CONTAINERS_SERVICE, containersService(containers, w.events, w.log.child({ service: 'containers' })));
  w.plugins.push({ type: 'io.containerd.grpc.v1', id: 'containers', requires: ['io.containerd.metadata.v1'] });
}
