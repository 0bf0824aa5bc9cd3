/** `berth network disconnect`: takes a container off a network (at once if it runs). */
import { defineCommand } from '../../command';

export const command = defineCommand({
  usage: '[OPTIONS] NETWORK CONTAINER',
  summary: 'Disconnect a container from a network',
  minArgs: 2,
  maxArgs: 2,
  complete: 'containers',
  flags: {},
  async run(cli, _f, [network, container]) {
    await cli.client.engine.networkDisconnect({ network: network!, container: container! });
  },
});
