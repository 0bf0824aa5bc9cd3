/** `berth network create`: a bridge network of berthd's; prints its id. */
import { CliError, defineCommand } from '../../command';
import { keyValueFlags } from './common';

export const command = defineCommand({
  usage: '[OPTIONS] NETWORK',
  summary: 'Create a network',
  minArgs: 1,
  maxArgs: 1,
  complete: 'none',
  flags: {
    driver: { type: 'string', short: 'd', desc: 'Driver to manage the Network (bridge only)', placeholder: 'string', defaultText: '"bridge"' },
    gateway: { type: 'strings', desc: 'IPv4 Gateway for the master subnet', placeholder: 'strings' },
    internal: { type: 'bool', desc: 'Restrict external access to the network' },
    ipRange: { type: 'strings', desc: 'Allocate container ip from a sub-range', placeholder: 'strings' },
    ipv6: { type: 'bool', desc: 'Enable IPv6 networking (not supported)' },
    label: { type: 'strings', desc: 'Set metadata on a network', placeholder: 'list' },
    opt: {
      type: 'strings',
      short: 'o',
      desc: 'Set driver specific options (com.docker.network.bridge.name, com.docker.network.bridge.enable_ip_masquerade, com.docker.network.driver.mtu)',
      placeholder: 'map',
    },
    subnet: { type: 'strings', desc: 'Subnet in CIDR format that represents a network segment', placeholder: 'strings' },
  },
  async run(cli, f, [name]) {
    const one = (flag: string, list: string[]) => {
      if (list.length > 1) throw new CliError(`--${flag}: a berth network has one IPv4 subnet (given ${list.length})`, 1);
      return list[0] ?? '';
    };
    const n = await cli.client.engine.networkCreate({
      name: name!,
      driver: f.driver ?? '',
      subnet: one('subnet', f.subnet),
      gateway: one('gateway', f.gateway),
      ip_range: one('ip-range', f.ipRange),
      internal: f.internal,
      ipv6: f.ipv6,
      labels: keyValueFlags(f.label),
      options: keyValueFlags(f.opt),
    });
    await cli.out(`${n.id}\n`);
  },
});
