/** `berth volume rm`: refused while a container uses the volume; `-f` makes a missing one fine. */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  summary: 'Remove one or more volumes',
  minArgs: 1,
  flags: {
    force: { type: 'bool', short: 'f', desc: 'Force the removal of one or more volumes' },
  },
  run: (cli, f, args) => forEachArg(cli, args, (name) => cli.client.engine.removeVolume({ name, force: f.force }).then(() => undefined)),
});
