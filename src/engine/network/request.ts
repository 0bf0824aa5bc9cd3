/**
 * A container's network request checked against the networks and turned into its config (kept
 * with the container, used at every start). Docker's rules: aliases and fixed addresses only on
 * user networks, nothing of the network may be set with `container:`, published ports are
 * discarded (with a warning) in host mode.
 */
import { invalidArgument } from '../../core/errors';
import { contains, mustIp, parseCidr, parseIp } from '../../net/ipv4';
import { portBindings } from './ports';
import type { NetworkStore } from './store';
import type { ContainerNetConfig, EndpointConfig, NetworkRecord, NetworkRequest } from './types';

export interface PrepareContext {
  store: NetworkStore;
  /** The image's and the request's exposed ports (`80/tcp`), for -P. */
  exposedPorts: readonly string[];
  /** Where ports are published when -p names no address. */
  defaultPublishAddress: string;
  /** `container:<ref>`: the id of that container (NotFound when there is none). */
  resolveContainer: (ref: string) => Promise<string>;
  /** The container's own id (it cannot join itself). */
  self?: string;
}

const HOST_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,252})$/;

function checkIpOn(n: NetworkRecord, ip: string): string {
  const v = mustIp(ip, `--ip for network ${n.name}`);
  const subnet = parseCidr(n.subnet);
  if (!contains(subnet, v)) throw invalidArgument(`--ip ${ip}: not in network ${n.name}'s subnet ${n.subnet}`);
  if (n.ipRange && !contains(parseCidr(n.ipRange), v)) throw invalidArgument(`--ip ${ip}: not in network ${n.name}'s ip-range ${n.ipRange}`);
  if (ip === n.gateway) throw invalidArgument(`--ip ${ip}: that is network ${n.name}'s gateway`);
  return ip;
}

/** One network of a request (or of `network connect`), checked. */
export function endpoint(n: NetworkRecord, o: { ip?: string; aliases?: string[] }): EndpointConfig {
  const aliases = [...new Set(o.aliases ?? [])];
  if (n.isDefault && aliases.length) throw invalidArgument('network-scoped aliases are supported only for containers on user-defined networks');
  if (n.isDefault && o.ip) throw invalidArgument('a user-specified IP address is supported only on user-defined networks');
  for (const a of aliases) if (!HOST_NAME.test(a)) throw invalidArgument(`invalid network alias ${JSON.stringify(a)}`);
  return { networkId: n.id, networkName: n.name, ...(o.ip ? { ip: checkIpOn(n, o.ip) } : {}), aliases };
}

function extraHosts(list: readonly string[]): Array<{ name: string; ip: string }> {
  return list.map((e) => {
    const i = e.search(/[:=]/);
    const name = i > 0 ? e.slice(0, i) : '';
    const ip = i > 0 ? e.slice(i + 1) : '';
    if (!HOST_NAME.test(name) || (ip !== 'host-gateway' && parseIp(ip) === undefined))
      throw invalidArgument(`invalid --add-host ${JSON.stringify(e)}: want name:IPv4 or name:host-gateway`);
    return { name, ip };
  });
}

export async function prepareNetworking(req: NetworkRequest, c: PrepareContext): Promise<{ config: ContainerNetConfig; warnings: string[] }> {
  const warnings: string[] = [];
  const mode = req.mode ?? '';
  for (const s of req.dns ?? []) if (parseIp(s) === undefined) throw invalidArgument(`--dns ${JSON.stringify(s)}: not an IPv4 address`);
  const base = {
    version: 1 as const,
    dns: { servers: [...(req.dns ?? [])], search: [...(req.dnsSearch ?? [])], options: [...(req.dnsOptions ?? [])] },
    extraHosts: extraHosts(req.extraHosts ?? []),
  };
  const more = req.more ?? [];
  const hasPorts = (req.publish?.length ?? 0) > 0 || req.publishAll === true;
  const onlyWith = (m: string) => {
    if (req.ip) throw invalidArgument(`--ip needs a user-defined network, not --network ${m}`);
    if (req.aliases?.length) throw invalidArgument(`--network-alias needs a user-defined network, not --network ${m}`);
    if (more.length) throw invalidArgument(`--network ${m} cannot be combined with other networks`);
  };

  if (mode.startsWith('container:')) {
    onlyWith('container');
    if (hasPorts) throw invalidArgument('conflicting options: port publishing and the container network mode');
    if (base.dns.servers.length || base.dns.search.length || base.dns.options.length)
      throw invalidArgument('conflicting options: dns and the container network mode');
    if (base.extraHosts.length) throw invalidArgument('conflicting options: custom host-to-IP mapping and the container network mode');
    const ref = mode.slice('container:'.length);
    if (!ref) throw invalidArgument('--network container: needs a container name or id');
    const id = await c.resolveContainer(ref);
    if (id === c.self) throw invalidArgument('a container cannot join its own network namespace');
    return { config: { ...base, mode: 'container', joinContainer: id, endpoints: [], ports: [] }, warnings };
  }
  if (mode === 'host' || mode === 'none') {
    onlyWith(mode);
    if (hasPorts && mode === 'none') throw invalidArgument('port publishing needs a network: not with --network none');
    if (hasPorts) warnings.push('Published ports are discarded when using host network mode');
    return { config: { ...base, mode, endpoints: [], ports: [] }, warnings };
  }

  const first = mode === '' || mode === 'default' ? await c.store.ensureDefault() : mode === 'bridge' ? await c.store.ensureDefault() : c.store.get(mode);
  const endpoints = [endpoint(first, { ip: req.ip, aliases: req.aliases })];
  for (const m of more) {
    if (['none', 'host'].includes(m.network) || m.network.startsWith('container:'))
      throw invalidArgument(`--network ${m.network} cannot be combined with other networks`);
    const n = ['bridge', 'default'].includes(m.network) ? await c.store.ensureDefault() : c.store.get(m.network);
    if (endpoints.some((e) => e.networkId === n.id)) throw invalidArgument(`network ${n.name} is given twice`);
    endpoints.push(endpoint(n, m));
  }
  const ports = portBindings(req.publish ?? [], req.publishAll ?? false, c.exposedPorts, c.defaultPublishAddress);
  if (ports.length && endpoints.every((e) => c.store.get(e.networkId).internal)) throw invalidArgument('ports cannot be published on internal networks only');
  return { config: { ...base, mode: 'bridge', endpoints, ports }, warnings };
}
