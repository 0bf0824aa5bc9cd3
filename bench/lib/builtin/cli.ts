/**
 * The `berth` CLI beside `ctr`: the same listing on each side (berth CLI → berthd, ctr → containerd),
 * wall time per command. "not yet" until the CLI answers `berth --address SOCK images ls`.
 */
import { join } from 'node:path';
import { run } from '../../../test/helpers/ctr';
import { REPO } from '../paths';
import { timeMs } from '../stats';
import type { Side, Workload } from '../workload';

export const BERTH_CLI = join(REPO, 'dist', 'cli', 'bin.js');

function berth(side: Side, args: string[], address: boolean) {
  return run(process.execPath, [BERTH_CLI, ...(address ? ['--address', side.daemon.address] : []), ...args], { timeoutMs: 15000 });
}

function cliWorkload(name: string, args: string[], { address = true } = {}): Workload {
  return {
    name,
    description: `\`berth ${args.join(' ')}\` (berthd) beside \`ctr ${args.join(' ')}\` (containerd), wall time`,
    unit: 'ms',
    better: 'lower',
    async supported(side) {
      const r = await berth(side, args, address);
      return r.code === 0 ? true : `berth ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n')[0]?.slice(0, 120) ?? ''}`;
    },
    async sample(side) {
      let code: number | null = 0;
      const ms = await timeMs(async () => {
        code = (side.name === 'berth' ? await berth(side, args, address) : await side.ctr(args, { timeoutMs: 15000 })).code;
      });
      if (code !== 0) throw new Error(`${side.name === 'berth' ? 'berth' : 'ctr'} ${args.join(' ')} exited ${code}`);
      return ms;
    },
  };
}

/**
 * `berth version` beside `ctr version`: the only command the CLI has today. It prints the client's
 * version without asking the daemon (ctr also asks the server), so it is the CLI's start-up cost.
 */
export const cliVersionWorkload = cliWorkload('cli-version', ['version'], { address: false });
export const cliImagesLsWorkload = cliWorkload('cli-images-ls', ['images', 'ls']);
export const cliContainersLsWorkload = cliWorkload('cli-containers-ls', ['containers', 'ls']);
export const cliTasksLsWorkload = cliWorkload('cli-tasks-ls', ['tasks', 'ls']);

