/** `berth pull`: an image from a registry, through berthd's Transfer service. */
import { defineCommand } from '../../command';
import { pullAllTags } from './pull-all-tags';
import { pullImage } from './pull-image';

export const command = defineCommand({
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'Download an image from a registry',
  minArgs: 1,
  maxArgs: 1,
  complete: 'none',
  flags: {
    platform: { type: 'string', desc: 'Set platform if server is multi-platform capable', placeholder: 'string' },
    quiet: { type: 'bool', short: 'q', desc: 'Suppress verbose output' },
    allTags: { type: 'bool', short: 'a', desc: 'Download all tagged images in the repository' },
  },
  async run(cli, f, [ref]) {
    if (f.allTags) return pullAllTags(cli, ref!, { platform: f.platform, quiet: f.quiet });
    await pullImage(cli, ref!, { platform: f.platform, quiet: f.quiet });
  },
});
