/** What the network commands share: key=value flags and Docker's view of a network. */
import { fromTimestamp, type engine } from '../../../client';
import { goTime } from '../../output/units';

/** `--label k=v`, `-o k=v` (a bare `k` is `k=`), as Docker reads them. */
export function keyValueFlags(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

/** `network inspect`'s object: Docker's field names and layout, with berth's own under Berth. */
export function networkView(n: engine.Network) {
  return {
    Name: n.name,
    Id: n.id,
    Created: fromTimestamp(n.created)?.toISOString() ?? '',
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: n.subnet, Gateway: n.gateway, ...(n.ip_range ? { IPRange: n.ip_range } : {}) }] },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(
      Object.entries(n.containers).map(([id, c]) => [
        id,
        { Name: c.name, EndpointID: '', MacAddress: c.mac_address, IPv4Address: c.ipv4_address, IPv6Address: '' },
      ]),
    ),
    Options: n.options,
    Labels: n.labels,
    Berth: { Bridge: n.bridge, IPMasquerade: n.ip_masquerade, MTU: n.mtu, Default: n.is_default, ConfigPath: n.config_path },
  };
}

/** One `network ls` row as `--format` sees it. */
export function networkRow(n: engine.Network, noTrunc: boolean) {
  return {
    ID: noTrunc ? n.id : n.id.slice(0, 12),
    Name: n.name,
    Driver: n.driver,
    Scope: 'local',
    IPv6: 'false',
    Internal: String(n.internal),
    CreatedAt: goTime(fromTimestamp(n.created)),
    Labels: Object.entries(n.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Label(key: string) {
      return n.labels[key] ?? '';
    },
  };
}
