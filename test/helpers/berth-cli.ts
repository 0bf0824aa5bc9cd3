/**
 * The built `berth` binary (./cli's BERTH_BIN) against any berthd socket (an in-process one too),
 * with extra environment (a Docker config dir of the test's own).
 */
import { BERTH_BIN } from './cli';
import { withDeferredExtraCa } from '../../src/core/node/extra-ca';
import { run, type RunResult } from './ctr';

export function berthCli(address: string, env: NodeJS.ProcessEnv = {}) {
  return (args: string[], opts: { input?: string | Buffer; timeoutMs?: number; namespace?: string } = {}): Promise<RunResult> =>
    run(process.execPath, [BERTH_BIN, ...(opts.namespace ? ['-n', opts.namespace] : []), ...args], {
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
      env: { ...withDeferredExtraCa(process.env), BERTH_ADDRESS: address, ...env },
    });
}
