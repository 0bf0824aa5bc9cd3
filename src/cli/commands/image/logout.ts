/** `berth logout`: removes a registry's credentials from Docker's client config. */
import { defineCommand } from '../../command';
import { configKey, removeLogin } from './credentials';

export const command = defineCommand({
  usage: '[SERVER]',
  summary: 'Log out from a registry',
  maxArgs: 1,
  flags: {},
  async run(cli, _f, [server]) {
    const key = configKey(server);
    await cli.out((await removeLogin(key)) ? `Removing login credentials for ${key}\n` : `Not logged in to ${key}\n`);
  },
});
