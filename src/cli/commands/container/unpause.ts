/** `berth unpause`: thaws what `pause` froze. */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: 'CONTAINER [CONTAINER...]',
  summary: 'Unpause all processes within one or more containers',
  minArgs: 1,
  complete: 'running',
  flags: {},
  run: (cli, _f, args) => forEachArg(cli, args, (c) => cli.client.engine.unpause({ container: c }).then(() => undefined)),
});
