/** `berth commit`: the container's changes as a new layer on its image; prints the new image's id. */
import { defineCommand } from '../../command';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  summary: "Create a new image from a container's changes",
  minArgs: 1,
  maxArgs: 2,
  complete: 'containers',
  flags: {
    author: { type: 'string', short: 'a', desc: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")', placeholder: 'string' },
    message: { type: 'string', short: 'm', desc: 'Commit message', placeholder: 'string' },
    pause: { type: 'bool', short: 'p', defaultTrue: true, desc: 'Pause container during commit' },
  },
  async run(cli, f, [container, reference]) {
    const r = await cli.client.engine.commit({ container, reference: reference ?? '', author: f.author ?? '', comment: f.message ?? '', pause: f.pause });
    await cli.out(`${r.image_id}\n`);
  },
});
