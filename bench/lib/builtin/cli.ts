/**
 * The `berth` CLI beside `ctr`, end to end (a fresh process per command, as a user types it):
 * `berth version`, `berth ps -a`, `berth images` and `berth run --rm busybox true` against berthd
 * beside their `ctr` counterparts against containerd (+ runc), and `berth logs` of a 100 MiB log.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { withDeferredExtraCa } from '../../../src/core/node/extra-ca';
import { run } from '../../../test/helpers/ctr';
import { busybox, TASKS_NS } from '../containers';
import { REPO } from '../paths';
import { timeMs } from '../stats';
import type { Side, Workload } from '../workload';

export const BERTH_CLI = join(REPO, 'dist', 'cli', 'bin.js');

function berth(side: Side, args: string[], timeoutMs = 15000) {
  return run(process.execPath, [BERTH_CLI, '--address', side.daemon.address, '-n', TASKS_NS, ...args], { timeoutMs, env: withDeferredExtraCa(process.env) });
}

async function mustBerth(side: Side, args: string[], timeoutMs = 60000): Promise<string> {
  const r = await berth(side, args, timeoutMs);
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 200)}`);
  return r.stdout;
}

function cliWorkload(name: string, berthArgs: string[], ctrArgs: string[], target?: Workload['target']): Workload {
  return {
    name,
    description: `\`berth ${berthArgs.join(' ')}\` (berthd) beside \`ctr ${ctrArgs.join(' ')}\` (containerd), wall time`,
    unit: 'ms',
    better: 'lower',
    target,
    async supported(side) {
      const r = await berth(side, berthArgs);
      return r.code === 0 ? true : `berth ${berthArgs.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n')[0]?.slice(0, 120) ?? ''}`;
    },
    async sample(side) {
      let code: number | null = 0;
      const ms = await timeMs(async () => {
        code = (side.name === 'berth' ? await berth(side, berthArgs) : await side.ctr(ctrArgs, { timeoutMs: 15000, namespace: TASKS_NS })).code;
      });
      if (code !== 0) throw new Error(`${side.name === 'berth' ? 'berth' : 'ctr'} exited ${code}`);
      return ms;
    },
  };
}

const UNDER_100MS = { text: '< 100 ms (berth)', met: (b: { median: number }) => b.median < 100 };

/** Both ask the server for its version. */
export const cliVersionWorkload = cliWorkload('cli-version', ['version'], ['version']);
export const cliPsWorkload = cliWorkload('cli-ps', ['ps', '-a'], ['containers', 'ls'], UNDER_100MS);
export const cliImagesWorkload = cliWorkload('cli-images', ['images'], ['images', 'ls'], UNDER_100MS);

const RUNS_PER_SAMPLE = 4;

/**
 * `berth run --rm [--network none] busybox true` beside `ctr run --rm busybox ID true` on
 * containerd + runc. berth's default is Docker's: a bridge network (a veth, an address, a CNI
 * ADD and DEL per container); ctr runs no CNI at all, so `--network none` is the like-for-like row.
 */
function runRmWorkload(name: string, network: string[], target?: Workload['target']): Workload {
  return {
    name,
    description: `\`berth run --rm ${[...network, ''].join(' ')}busybox true\` (create, attach, start, exit code, removal) beside \`ctr run --rm busybox ID true\` on containerd + runc`,
    unit: 'ms',
    better: 'lower',
    target,
    async setup(side, env) {
      const img = await busybox(side, env);
      if (side.name === 'berth') await mustBerth(side, ['run', '--rm', ...network, img, 'true']);
      else await side.ctr(['run', '--rm', img, `${name}-warm`, 'true'], { namespace: TASKS_NS, timeoutMs: 60000 });
    },
    async sample(side, env, round) {
      const img = await busybox(side, env);
      const out: number[] = [];
      for (let k = 0; k < (env.quick ? 2 : RUNS_PER_SAMPLE); k++) {
        out.push(
          await timeMs(async () => {
            if (side.name === 'berth') await mustBerth(side, ['run', '--rm', ...network, img, 'true']);
            else {
              const r = await side.ctr(['run', '--rm', img, `${name}-${round}-${k}`, 'true'], { namespace: TASKS_NS, timeoutMs: 60000 });
              if (r.code !== 0) throw new Error(`ctr run exited ${r.code}: ${r.stderr.slice(0, 200)}`);
            }
          }),
        );
      }
      return out;
    },
  };
}

export const cliRunRmWorkload = runRmWorkload('cli-run-rm', [], {
  text: '< containerd+runc (stretch ≤ 0.6×)',
  met: (b, c) => b.median < c.median,
});
export const cliRunRmNoNetworkWorkload = runRmWorkload('cli-run-rm-none', ['--network', 'none']);

/**
 * `berth logs C > /dev/null` of a container that wrote 100 MiB (1 Mi lines of 100 bytes; Docker's
 * json-file makes ~170 MiB of it on disk). ctr has no logs: the containerd column is `cat` of the
 * same log file, what reading it costs without any parsing (a floor, not a rival).
 */
let logPath = '';

/** Runs a command with its stdout on /dev/null (no pipe to drain); its exit code. */
function toDevNull(cmd: string, args: string[]): Promise<number | null> {
  const out = openSync('/dev/null', 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', out, 'inherit'], env: withDeferredExtraCa(process.env) });
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  }).finally(() => closeSync(out)) as Promise<number | null>;
}
export const cliLogsWorkload: Workload = {
  name: 'cli-logs-100m',
  description: '`berth logs` of 100 MiB of output (json-file) into /dev/null; containerd column: `cat` of that log file (ctr has no logs)',
  unit: 'ms',
  better: 'lower',
  rounds: 3,
  timeoutMs: 300000,
  async setup(side, env) {
    if (side.name !== 'berth') return;
    const img = await busybox(side, env);
    const line = 'x'.repeat(99);
    const id = (
      await mustBerth(side, ['run', '-d', '--name', 'cli-logs-100m', img, 'sh', '-c', `yes ${line} | head -n ${env.quick ? 1 << 17 : 1 << 20}`])
    ).trim();
    await mustBerth(side, ['wait', id], 300000);
    logPath = (await mustBerth(side, ['inspect', '--format', '{{.LogPath}}', id])).trim();
  },
  async sample(side) {
    if (!logPath) throw new Error('no berth log to read (berth setup failed)');
    const [cmd, args] =
      side.name === 'berth' ? [process.execPath, [BERTH_CLI, '--address', side.daemon.address, '-n', TASKS_NS, 'logs', 'cli-logs-100m']] : ['cat', [logPath]];
    return timeMs(async () => {
      const code = await toDevNull(cmd, args as string[]);
      if (code !== 0) throw new Error(`${cmd} exited ${code}`);
    });
  },
  async teardown(side) {
    if (side.name === 'berth') await berth(side, ['rm', '-f', 'cli-logs-100m']).catch(() => undefined);
  },
};
