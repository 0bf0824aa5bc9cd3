/** `berth rm`: removes containers; `-f` stops a running one first (SIGKILL). */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove one or more containers',
  minArgs: 1,
  complete: 'containers',
  flags: {
    force: { type: 'bool', short: 'f', desc: 'Force the removal of a running container (uses SIGKILL)' },
    volumes: { type: 'bool', short: 'v', desc: 'Remove anonymous volumes associated with the container' },
  },
  run: (cli, f, args) => forEachArg(cli, args, (c) => cli.client.engine.remove({ container: c, force: f.force, volumes: f.volumes }).then(() => undefined)),
});
