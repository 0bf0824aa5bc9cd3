/** berth.engine.v1 network wire types ↔ the engine's (src/engine/network/types.ts). */
import { invalidArgument } from '../../core/errors';
import type { ContainerSummary, CreateOptions, EngineContainer, NetworkCreateOptions, NetworkInspect, NetworkSettings, PortBinding } from '../../engine';
import type * as pb from '../../api/gen/berth/engine/v1/engine';
import { toTimestamp } from './common';

const opt = <T>(v: T[]): T[] | undefined => (v.length ? v : undefined);

/** The network part of a CreateRequest's host config (--network, -p, -P, --ip, --network-alias, --dns*, --add-host). */
export function createNetworkFromProto(h: pb.HostConfig | undefined): Partial<CreateOptions> {
  if (!h) return {};
  const more = h.more_networks.map((m) => {
    if (!m.network) throw invalidArgument('more_networks: network must be set');
    return { network: m.network, ...(m.ip ? { ip: m.ip } : {}), ...(m.aliases.length ? { aliases: m.aliases } : {}) };
  });
  const out: Partial<CreateOptions> = {
    publish: opt(h.publish),
    publishAll: h.publish_all || undefined,
    ip: h.ip || undefined,
    networkAliases: opt(h.network_aliases),
    moreNetworks: opt(more),
    dns: opt(h.dns),
    dnsSearch: opt(h.dns_search),
    dnsOptions: opt(h.dns_options),
    extraHosts: opt(h.extra_hosts),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

export function portToProto(p: PortBinding): pb.PortBinding {
  return { host_ip: p.hostIp, host_port: p.hostPort, container_port: p.containerPort, proto: p.proto };
}

export function networkSettingsToProto(s: NetworkSettings): pb.NetworkSettings {
  return {
    mode: s.mode,
    sandbox_key: s.sandboxKey,
    networks: s.networks.map((n) => ({
      network_id: n.networkId,
      network_name: n.networkName,
      if_name: n.ifName,
      ip_address: n.ipAddress,
      ip_prefix_len: n.ipPrefixLen,
      gateway: n.gateway,
      mac_address: n.macAddress,
      aliases: n.aliases,
      dns_names: n.dnsNames,
    })),
    ports: s.ports.map(portToProto),
  };
}

/** The network fields of HostConfigView. */
export function hostConfigNetworkToProto(
  h: EngineContainer['hostConfig'],
): Pick<pb.HostConfigView, 'port_bindings' | 'publish_all_ports' | 'dns' | 'dns_search' | 'dns_options' | 'extra_hosts'> {
  return {
    port_bindings: h.portBindings.map(portToProto),
    publish_all_ports: h.publishAllPorts,
    dns: h.dns,
    dns_search: h.dnsSearch,
    dns_options: h.dnsOptions,
    extra_hosts: h.extraHosts,
  };
}

export function summaryNetworkToProto(s: ContainerSummary): Pick<pb.ContainerSummary, 'ports' | 'networks'> {
  return { ports: s.ports.map(portToProto), networks: s.networks };
}

export function networkCreateFromProto(r: pb.NetworkCreateRequest): NetworkCreateOptions {
  return {
    name: r.name,
    ...(r.driver ? { driver: r.driver } : {}),
    ...(r.subnet ? { subnet: r.subnet } : {}),
    ...(r.gateway ? { gateway: r.gateway } : {}),
    ...(r.ip_range ? { ipRange: r.ip_range } : {}),
    internal: r.internal,
    ipv6: r.ipv6,
    labels: r.labels,
    options: r.options,
  };
}

export function networkToProto(n: NetworkInspect): pb.Network {
  return {
    id: n.id,
    name: n.name,
    driver: n.driver,
    created: toTimestamp(new Date(n.created)),
    subnet: n.subnet,
    gateway: n.gateway,
    ip_range: n.ipRange ?? '',
    bridge: n.bridge,
    ip_masquerade: n.ipMasquerade,
    internal: n.internal,
    mtu: n.mtu,
    labels: n.labels,
    options: n.options,
    is_default: n.isDefault,
    config_path: n.configPath,
    containers: Object.fromEntries(
      Object.entries(n.containers).map(([id, c]) => [id, { name: c.name, ipv4_address: c.ipv4Address, mac_address: c.macAddress }]),
    ),
  };
}
