/** `berth rmi`: untags each name, deletes an image with its last name (Docker's rules, in berthd's engine). */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';

export const command = defineCommand({
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  summary: 'Remove one or more images',
  minArgs: 1,
  complete: 'images',
  flags: {
    force: { type: 'bool', short: 'f', desc: 'Force removal of the image' },
    noPrune: { type: 'bool', desc: 'Do not delete untagged parents (berth has none)' },
  },
  run(cli, f, args) {
    return forEachArg(cli, args, async (image) => {
      const r = await cli.client.engine.removeImage({ image, force: f.force });
      return [...r.untagged.map((n) => `Untagged: ${n}`), ...r.deleted.map((d) => `Deleted: ${d}`)];
    });
  },
});
