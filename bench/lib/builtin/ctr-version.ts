/** Wall time of the real `ctr version` (exec + connect + two RPCs): what a user feels per command. */
import { timeMs } from '../stats';
import type { Workload } from '../workload';

export const ctrVersionWorkload: Workload = {
  name: 'ctr-version',
  description: '`ctr version` wall time',
  unit: 'ms',
  better: 'lower',
  async sample(side) {
    let code: number | null = 0;
    const ms = await timeMs(async () => {
      code = (await side.ctr(['version'], { timeoutMs: 10000 })).code;
    });
    if (code !== 0) throw new Error(`ctr version exited ${code}`);
    return ms;
  },
};
