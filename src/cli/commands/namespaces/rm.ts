/** `berth namespaces rm NAME...`: an empty namespace goes (berthd refuses one that still holds something). */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: 'NAME [NAME...]',
  summary: 'Remove namespaces',
  minArgs: 1,
  flags: {},
  run: (cli, _f, args) => forEachArg(cli, args, (name) => cli.client.namespaces.delete({ name }).then(() => undefined)),
});
