/** `berth content rm DIGEST...`. */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: 'DIGEST [DIGEST...]',
  summary: 'Remove blobs from the content store',
  minArgs: 1,
  flags: {},
  run: (cli, _f, args) => forEachArg(cli, args, (digest) => cli.client.content.delete({ digest }).then(() => undefined)),
});
