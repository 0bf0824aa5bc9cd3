/** `berth wait`: blocks until each container stops, then prints its exit code. */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: 'CONTAINER [CONTAINER...]',
  summary: 'Block until one or more containers stop, then print their exit codes',
  minArgs: 1,
  complete: 'containers',
  flags: {},
  run: (cli, _f, args) => forEachArg(cli, args, async (c) => String((await cli.client.engine.wait({ container: c })).exit_code)),
});
