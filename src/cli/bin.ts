#!/usr/bin/env node
/** The `berth` CLI. Until the CLI issue lands it only reports its version. */
const pkg = require('../../package.json') as { version: string };
const arg = process.argv[2];
if (arg === undefined || arg === 'version' || arg === '--version' || arg === '-v') {
  process.stdout.write(`berth ${pkg.version}\n`);
} else {
  process.stderr.write(`berth: unknown command ${JSON.stringify(arg)}; this build only has "version" (use ctr against berthd for now)\n`);
  process.exit(2);
}
