/**
 * Issue 14: `berth pull` (berthd pulls through its Transfer service; the CLI only shows progress)
 * beside `ctr images pull --plain-http` into containerd, for the generated 100 MB+ image and the
 * real Debian root filesystem (both layerings). The images are the ones pull-large and
 * pull-debian push (bench/pull.workload.ts, bench/pull-debian.workload.ts).
 */
import { join } from 'node:path';
import { run } from '../test/helpers/ctr';
import { REPO } from './lib/paths';
import { pullRow } from './lib/pull-rows';
import { debianPushed } from './pull-debian.workload';
import { largePushed } from './pull.workload';

const BERTH_CLI = join(REPO, 'dist', 'cli', 'bin.js');

const berthPull = {
  async pull(address: string, namespace: string, ref: string): Promise<string> {
    const r = await run(process.execPath, [BERTH_CLI, '--address', address, '-n', namespace, 'pull', ref], { timeoutMs: 300000 });
    if (r.code !== 0) throw new Error(`berth pull ${ref} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 300)}`);
    return r.stdout;
  },
  target: { text: '≤ ⅓ containerd', met: (b: { median: number }, c: { median: number }) => b.median <= c.median / 3 },
};

export const pullLargeTransfer = pullRow({
  name: 'pull-large-transfer',
  description: "`berth pull` of pull-large's image (Transfer service in berthd) beside `ctr images pull` into containerd",
  image: largePushed,
  rounds: 3,
  berthPull,
});

export const pullDebianTransfer = pullRow({
  name: 'pull-debian-transfer',
  description: "`berth pull` of pull-debian's image (2 layers) beside `ctr images pull` into containerd",
  image: async (env) => (await debianPushed(env)).layered,
  rounds: 3,
  berthPull,
});

export const pullDebianFlatTransfer = pullRow({
  name: 'pull-debian-flat-transfer',
  description: "`berth pull` of pull-debian-flat's image (one layer) beside `ctr images pull` into containerd",
  image: async (env) => (await debianPushed(env)).flat,
  rounds: 3,
  berthPull,
});
