/** `berth kill`: a signal (SIGKILL unless `-s`) to the container's main process. */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Kill one or more running containers',
  minArgs: 1,
  complete: 'running',
  flags: {
    signal: { type: 'string', short: 's', desc: 'Signal to send to the container', placeholder: 'string', defaultText: '"KILL"' },
  },
  run: (cli, f, args) => forEachArg(cli, args, (c) => cli.client.engine.kill({ container: c, signal: f.signal ?? '' }).then(() => undefined)),
});
