/** `berth network rm`: removes networks no container is on; prints each name removed. */
import { isNotFound } from '../../../client';
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  summary: 'Remove one or more networks',
  minArgs: 1,
  flags: {
    force: { type: 'bool', short: 'f', desc: 'Do not error if the network does not exist' },
  },
  run: (cli, f, args) =>
    forEachArg(cli, args, (n) =>
      cli.client.engine.networkRemove({ network: n }).then(
        () => undefined,
        (e) => {
          if (f.force && isNotFound(e)) return [];
          throw e;
        },
      ),
    ),
});
