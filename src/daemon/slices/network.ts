import { background } from '../../core/context';
import { NetworkManager } from '../../engine/network';
import { Part, type Slice } from '../slice';
import { LAUNCHER } from './launcher';
import { TASKS } from './tasks';

export const NETWORK = new Part<NetworkManager>('network');

/**
 * Container networking (src/engine/network): CNI bridge networks, sandboxes, published ports and
 * the resolver on each user network's gateway; containers' network namespaces, the CNI plugins
 * and `umount` go through the helper launcher. After the tasks are back, it keeps the sandboxes
 * of containers whose task still runs and takes down the rest (a container that died while
 * berthd was down releases its address, veth, ports and rules here). Closing stops the resolver
 * and releases the port holds; the containers keep their networking.
 */
export const networkSlice: Slice = {
  name: 'network',
  requires: [TASKS, LAUNCHER],
  provides: [NETWORK],
  plugins: () => [{ type: 'io.berth.engine.v1', id: 'network', requires: ['io.containerd.runtime.v2'], capabilities: ['cni', 'bridge', 'portmap', 'dns'] }],
  async wire(ctx) {
    const tasks = ctx.need(TASKS);
    const log = ctx.log.child({ component: 'network' });
    const { network: n, root, state } = ctx.config;
    const launcher = ctx.need(LAUNCHER);
    const tools = launcher
      ? { makeNetns: (p: string) => launcher.netns(p), unmountNetns: (p: string) => launcher.unmountNetns(p), run: launcher.exec.bind(launcher) }
      : undefined;
    const net = new NetworkManager({ root, state, ...n, log, tools });
    await net.open();
    const running = (id: string, ns: string) => {
      try {
        const t = tasks.get(background(ns), id);
        return t.status === 'running' || t.status === 'paused';
      } catch {
        return false;
      }
    };
    const { kept, released } = await net.restore(running);
    if (kept || released) log.info('network: sandboxes restored', { kept, released });
    ctx.onClose(() => net.close());
    ctx.provide(NETWORK, net);
  },
};
