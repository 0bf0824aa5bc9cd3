/** `berth create`: a container made, not started; prints its id. */
import { defineCommand } from '../../command';
import { CREATE_FLAGS } from './create-options';
import { createContainer } from './create-container';

export const command = defineCommand({
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create a new container',
  minArgs: 1,
  interspersed: false,
  complete: 'images',
  flags: CREATE_FLAGS,
  async run(cli, f, [image, ...cmd]) {
    const c = await createContainer(cli, f, image!, cmd, { run: false, detached: false });
    await cli.out(`${c.id}\n`);
  },
});
