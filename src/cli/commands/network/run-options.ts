/**
 * `run`/`create`'s networking flags (Docker's names) and the host_config fields they make, as an
 * option group of container/create-options.ts (its flags join run's and create's, apply() fills
 * the request). berthd checks the values (addresses, port specs, networks that exist); the CLI
 * only refuses what it cannot send.
 */
import type { DeepPartial, engine } from '../../../client';
import type { Flags, FlagSpecs } from '../../args';
import { CliError } from '../../command';

export const NETWORK_CREATE_FLAGS = {
  network: {
    type: 'strings',
    desc: 'Connect a container to a network: bridge (the default), none, host, container:<name|id>, or a network name (repeat for more networks)',
    placeholder: 'network',
  },
  net: { type: 'strings', desc: 'Connect a container to a network', hidden: true },
  networkAlias: { type: 'strings', desc: 'Add network-scoped alias for the container', placeholder: 'list' },
  netAlias: { type: 'strings', desc: 'Add network-scoped alias for the container', hidden: true },
  ip: { type: 'string', desc: 'IPv4 address (e.g., 172.30.100.104)', placeholder: 'string' },
  ip6: { type: 'string', desc: 'IPv6 address (not supported)', hidden: true },
  publish: {
    type: 'strings',
    short: 'p',
    desc: "Publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/udp]; the address defaults to 127.0.0.1)",
    placeholder: 'list',
  },
  publishAll: { type: 'bool', short: 'P', desc: 'Publish all exposed ports to random ports' },
  dns: { type: 'strings', desc: 'Set custom DNS servers', placeholder: 'list' },
  dnsSearch: { type: 'strings', desc: 'Set custom DNS search domains', placeholder: 'list' },
  dnsOption: { type: 'strings', desc: 'Set DNS options', placeholder: 'list' },
  dnsOpt: { type: 'strings', desc: 'Set DNS options', hidden: true },
  addHost: { type: 'strings', desc: 'Add a custom host-to-IP mapping (host:ip; ip may be host-gateway)', placeholder: 'list' },
} as const satisfies FlagSpecs;

export type NetworkCreateFlags = Flags<typeof NETWORK_CREATE_FLAGS>;

/** The fields of CreateRequest.host_config these flags set. */
function networkHostConfig(f: NetworkCreateFlags): DeepPartial<engine.HostConfig> {
  if (f.ip6 !== undefined) throw new CliError('--ip6: IPv6 networks are not supported', 125);
  const [first, ...more] = [...f.network, ...f.net];
  const aliases = [...f.networkAlias, ...f.netAlias];
  return {
    network: first ?? '',
    more_networks: more.map((network) => ({ network })),
    ip: f.ip ?? '',
    network_aliases: aliases,
    publish: f.publish,
    publish_all: f.publishAll,
    dns: f.dns,
    dns_search: f.dnsSearch,
    dns_options: [...f.dnsOption, ...f.dnsOpt],
    extra_hosts: f.addHost,
  };
}

/** The option group: `{ flags, apply }`. */
export const NETWORK_OPTIONS = {
  flags: NETWORK_CREATE_FLAGS,
  apply(f: NetworkCreateFlags, request: DeepPartial<engine.CreateRequest> & { host_config: DeepPartial<engine.HostConfig> }): void {
    Object.assign(request.host_config, networkHostConfig(f));
  },
};
