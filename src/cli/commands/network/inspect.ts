/** `berth network inspect`: Docker's JSON (or a template) for each network found; exit 1 if one is not. */
import type { engine } from '../../../client';
import { defineCommand } from '../../command';
import { formatObjects } from '../../output/format';
import { messageOf } from '../common';
import { networkView } from './common';

export const command = defineCommand({
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  summary: 'Display detailed information on one or more networks',
  minArgs: 1,
  flags: {
    format: { type: 'string', short: 'f', desc: 'Format output using a custom template', placeholder: 'string' },
  },
  async run(cli, f, args) {
    const found: engine.Network[] = [];
    const errors: string[] = [];
    for (const a of args) {
      try {
        found.push(await cli.client.engine.networkInspect({ network: a }));
      } catch (e) {
        errors.push(messageOf(e));
      }
    }
    // Docker prints what it found (`[]` when nothing), then the errors.
    if (found.length || !f.format) await cli.out(formatObjects(found.map(networkView), f.format));
    if (errors.length) await cli.err(errors.map((l) => `${l}\n`).join(''));
    return errors.length ? 1 : 0;
  },
});
