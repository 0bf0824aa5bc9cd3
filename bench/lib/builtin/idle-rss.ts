/** Idle resident memory of a fresh daemon after it has settled (main process only, no shims). */
import { readFile } from 'node:fs/promises';
import type { Workload } from '../workload';

export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

export const idleRssWorkload: Workload = {
  name: 'idle-rss',
  description: 'idle RSS of a fresh daemon, 1 s after its first Version RPC',
  unit: 'MiB',
  better: 'lower',
  async sample(side, env) {
    const d = await side.launch();
    try {
      await new Promise((r) => setTimeout(r, env.quick ? 300 : 1000));
      return await rssMiB(d.pid);
    } finally {
      await d.stop();
    }
  },
};
