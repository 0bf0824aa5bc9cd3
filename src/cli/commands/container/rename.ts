/** `berth rename`: a container's new name (unique in the namespace). */
import { defineCommand } from '../../command';

export const command = defineCommand({
  usage: 'CONTAINER NEW_NAME',
  summary: 'Rename a container',
  minArgs: 2,
  maxArgs: 2,
  complete: 'containers',
  flags: {},
  async run(cli, _f, [container, name]) {
    await cli.client.engine.rename({ container, name });
  },
});
