/** berthd's command line (started by bin.ts, usually from the bundle scripts/bundle.js makes). */
import { parseArgs } from 'node:util';
import { stderrLogger } from '../core/node/stderr-logger';
import { loadConfig } from './config';
import { type Daemon, startDaemon } from './main';
import { mark, reportStartup } from './startup-trace';

const USAGE = `usage: berthd [--root DIR] [--state DIR] [--address SOCKET] [--config FILE] [--log-level debug|info|warn|error]
              [--userns-remap USER[:GROUP]]

  --root       persistent data (content, metadata, snapshots)   default /var/lib/berth
  --state      runtime state (task bundles, monitor sockets)    default /run/berth
  --address    gRPC unix socket                                 default /run/berth/berthd.sock
  --config     JSON config file (see src/daemon/config.ts)
  --log-level  structured JSON logs on stderr                   default info
  --userns-remap  run every container in a user namespace as USER's subordinate ids (/etc/subuid, /etc/subgid)`;

async function run(): Promise<void> {
  mark('main');
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        root: { type: 'string' },
        state: { type: 'string' },
        address: { type: 'string', short: 'a' },
        config: { type: 'string', short: 'c' },
        'log-level': { type: 'string', short: 'l' },
        'userns-remap': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`berthd: ${messageOf(e)}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (values.version) {
    process.stdout.write(`berthd ${require('../../package.json').version}\n`);
    return;
  }
  const config = loadConfig({
    root: values.root,
    state: values.state,
    address: values.address,
    config: values.config,
    logLevel: values['log-level'],
    usernsRemap: values['userns-remap'],
  });
  mark('config');
  const log = stderrLogger(config.logLevel, { component: 'berthd' });
  // The handlers go in before the daemon starts: it answers calls (and a supervisor may signal it)
  // before startDaemon returns, and a signal then must still mean a clean shutdown, not Node's default exit.
  const started: { daemon?: Daemon } = {};
  let stopping: string | undefined;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = sig;
    const daemon = started.daemon;
    if (!daemon) return; // startDaemon's continuation closes it
    log.info('shutting down', { signal: sig });
    daemon.close().then(
      () => process.exit(0),
      (e) => {
        log.error('shutdown failed', { err: e });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  started.daemon = await startDaemon(config, log);
  // Loaded after start-up: node:v8 and perf_hooks are not needed for the first call.
  void import('./idle-gc').then((m) => m.startIdleGc());
  void import('./jit-budget').then((m) => m.restoreInterruptBudget());
  void import('./code-flushing').then((m) => m.flushCodeUnusedSinceLastGc());
  reportStartup();
  if (stopping) {
    const sig = stopping;
    stopping = undefined;
    stop(sig);
  }
}

export function main(): void {
  run().catch((e) => {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'berthd failed to start', err: messageOf(e) }) + '\n');
    process.exit(1);
  });
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
