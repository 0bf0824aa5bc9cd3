/** `berth leases rm ID...`; `--sync` waits for garbage collection to give the space back. */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] ID [ID...]',
  summary: 'Remove leases',
  minArgs: 1,
  flags: { sync: { type: 'bool', desc: 'Wait for garbage collection of what the lease held' } },
  run: (cli, f, args) => forEachArg(cli, args, (id) => cli.client.leases.delete({ id, sync: f.sync }).then(() => undefined)),
});
