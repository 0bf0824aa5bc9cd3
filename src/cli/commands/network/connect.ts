/** `berth network connect`: at once on a running container, from its next start on a stopped one. */
import { CliError, defineCommand } from '../../command';

export const command = defineCommand({
  usage: '[OPTIONS] NETWORK CONTAINER',
  summary: 'Connect a container to a network',
  minArgs: 2,
  maxArgs: 2,
  complete: 'containers',
  flags: {
    alias: { type: 'strings', desc: 'Add network-scoped alias for the container', placeholder: 'strings' },
    ip: { type: 'string', desc: 'IPv4 address (e.g., 172.30.100.104)', placeholder: 'string' },
    ip6: { type: 'string', desc: 'IPv6 address (not supported)', hidden: true },
  },
  async run(cli, f, [network, container]) {
    if (f.ip6 !== undefined) throw new CliError('--ip6: IPv6 networks are not supported', 1);
    await cli.client.engine.networkConnect({ network: network!, container: container!, ip: f.ip ?? '', aliases: f.alias });
  },
});
