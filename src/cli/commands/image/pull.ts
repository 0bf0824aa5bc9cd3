/** `berth pull`: an image from a registry, through berthd's Transfer service. */
import { CliError, defineCommand } from '../../command';
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
    allTags: { type: 'bool', short: 'a', desc: 'Download all tagged images in the repository (not supported)', hidden: true },
  },
  async run(cli, f, [ref]) {
    if (f.allTags) throw new CliError('pull --all-tags is not supported by berth', 125);
    await pullImage(cli, ref!, { platform: f.platform, quiet: f.quiet });
  },
});
