/** `berth restart`: stop (as `stop` does), then start. */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Restart one or more containers',
  minArgs: 1,
  complete: 'containers',
  flags: {
    signal: { type: 'string', short: 's', desc: 'Signal to send to the container', placeholder: 'string' },
    time: { type: 'int', short: 't', desc: 'Seconds to wait before killing the container', placeholder: 'int' },
  },
  run: (cli, f, args) =>
    forEachArg(cli, args, (c) => cli.client.engine.restart({ container: c, timeout: f.time, signal: f.signal ?? '' }).then(() => undefined)),
});
