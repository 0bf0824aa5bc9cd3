/** Idle resident memory of a fresh daemon after it has settled (main process only, no shims). */
import { readFile } from 'node:fs/promises';
import type { Workload } from '../workload';
import { client, unary } from '../grpc';

export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

export const idleRssWorkload: Workload = {
  name: 'idle-rss',
  description: 'idle RSS of a fresh daemon, 1 s after it answered its first Version and Namespaces/List RPCs',
  unit: 'MiB',
  better: 'lower',
  async sample(side, env) {
    const d = await side.launch();
    try {
      // berthd answers Version before it has opened its stores (src/daemon/main.ts): a call that
      // needs them returns once start-up is complete, so the sample is of a daemon fully up.
      const c = client(d.address, 'containerd.services.namespaces.v1.Namespaces');
      try {
        await unary(c, 'List', {});
      } finally {
        c.close();
      }
      await new Promise((r) => setTimeout(r, env.quick ? 300 : 1000));
      return await rssMiB(d.pid);
    } finally {
      await d.stop();
    }
  },
};
