/** `berth pause`: freezes every process of the containers (the cgroup freezer). */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: 'CONTAINER [CONTAINER...]',
  summary: 'Pause all processes within one or more containers',
  minArgs: 1,
  complete: 'running',
  flags: {},
  run: (cli, _f, args) => forEachArg(cli, args, (c) => cli.client.engine.pause({ container: c }).then(() => undefined)),
});
