#!/usr/bin/env -S node --initial-old-space-size=64
// The flag: see node-flags.ts (the shebang cannot import it).
import { parseArgs } from 'node:util';
import { createLogger, type LogLevel } from '../core/logger';
import { loadConfig } from './config';
import { startDaemon } from './main';

const USAGE = `usage: berthd [--root DIR] [--state DIR] [--address SOCKET] [--config FILE] [--log-level debug|info|warn|error]
              [--userns-remap USER[:GROUP]]

  --root       persistent data (content, metadata, snapshots)   default /var/lib/berth
  --state      runtime state (task bundles, monitor sockets)    default /run/berth
  --address    gRPC unix socket                                 default /run/berth/berthd.sock
  --config     JSON config file (see src/daemon/config.ts)
  --log-level  structured JSON logs on stderr                   default info
  --userns-remap  run every container in a user namespace as USER's subordinate ids (/etc/subuid, /etc/subgid)`;

async function main(): Promise<void> {
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
    process.stderr.write(`berthd: ${(e as Error).message}\n${USAGE}\n`);
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
    logLevel: values['log-level'] as LogLevel | undefined,
    usernsRemap: values['userns-remap'],
  });
  const log = createLogger(config.logLevel, { component: 'berthd' });
  const daemon = await startDaemon(config, log);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal: sig });
    daemon.close().then(
      () => process.exit(0),
      (e) => {
        log.error('shutdown failed', { err: e as Error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'berthd failed to start', err: (e as Error).message }) + '\n');
  process.exit(1);
});
