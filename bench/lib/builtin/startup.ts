/** Daemon start-up: spawn of a fresh, empty daemon → first successful Version RPC. */
import type { Workload } from '../workload';

export const startupWorkload: Workload = {
  name: 'startup',
  description: 'daemon start-up (empty root), spawn → first Version RPC',
  unit: 'ms',
  better: 'lower',
  async sample(side) {
    const d = await side.launch();
    await d.stop();
    return d.startupMs;
  },
};
