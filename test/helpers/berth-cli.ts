/**
 * The built `berth` binary, launched as a user would (`node dist/cli/bin.js`: a checkout's bin.js
 * has no run bit), against a given berthd socket, with its own Docker config dir.
 */
import { join } from 'node:path';
import { run, type RunResult } from './ctr';
import { REPO } from './daemon';

export const BERTH_BIN = join(REPO, 'dist', 'cli', 'bin.js');

export function berthCli(address: string, env: NodeJS.ProcessEnv = {}) {
  return (args: string[], opts: { input?: string | Buffer; timeoutMs?: number; namespace?: string } = {}): Promise<RunResult> =>
    run(process.execPath, [BERTH_BIN, ...(opts.namespace ? ['-n', opts.namespace] : []), ...args], {
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
      env: { ...process.env, BERTH_ADDRESS: address, ...env },
    });
}
