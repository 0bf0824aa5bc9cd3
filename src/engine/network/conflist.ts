/**
 * A network's CNI config list, as berthd writes it (under its own root, not /etc/cni/net.d: no
 * other runtime should pick berth's networks up, and berth should not run theirs):
 *
 *   bridge + host-local   the bridge, a veth into the namespace, an address
 *
 * The forward accepts and the masquerade are the network's, not each container's: berth writes
 * them once with its isolation rules (net/iptables.ts) instead of running the firewall plugin
 * and the bridge plugin's ipMasq at every ADD and DEL. Published ports are DNAT rules berth
 * writes per container in one iptables-restore (net/published.ts), not the portmap plugin's.
 *
 * The file is the network's CNI truth: berthd reads it at each ADD (so an admin may add a plugin,
 * say bandwidth), then adjusts it per attachment (attachList).
 */
import { formatIp, lastAddress, parseCidr } from '../../net/ipv4';
import type { NetConfList, PluginConf } from '../../net/cni/types';
import type { NetworkRecord } from './types';

export interface ConfListContext {
  /** host-local's data dir (berthd: <state>/network/ipam). */
  ipamDir: string;
  /** The isolation chain the firewall plugin of a legacy list jumps to first. */
  adminChain: string;
}

function range(n: NetworkRecord): Record<string, string> {
  const r: Record<string, string> = { subnet: n.subnet, gateway: n.gateway };
  if (n.ipRange) {
    const s = parseCidr(n.subnet);
    const ir = parseCidr(n.ipRange);
    r.rangeStart = formatIp(Math.max(ir.base, s.base + 1));
    r.rangeEnd = formatIp(Math.min(lastAddress(ir), lastAddress(s) - 1));
  }
  return r;
}

export function networkConfList(n: NetworkRecord, c: ConfListContext): NetConfList {
  const bridge: PluginConf = {
    type: 'bridge',
    bridge: n.bridge,
    isGateway: true, // the gateway address on the bridge: the host side, and where berth's DNS listens
    isDefaultGateway: !n.internal,
    ipMasq: false, // the network's own masquerade rule does it (NetworkFirewall)
    hairpinMode: true, // a container reaches its own published ports
    ...(n.mtu ? { mtu: n.mtu } : {}),
    ipam: { type: 'host-local', dataDir: c.ipamDir, ranges: [[range(n)]] },
  };
  return {
    cniVersion: '1.0.0',
    name: n.name,
    plugins: [bridge],
  };
}

const PORTMAP: PluginConf = { type: 'portmap', capabilities: { portMappings: true } };

/**
 * The lists older berthds wrote for the network: with the firewall plugin and ipMasq (before
 * per-network rules), then with portmap (before berth wrote its own DNAT rules). A file still
 * equal to one was never edited, and is rewritten as networkConfList (an edited one is the
 * admin's and is left alone).
 */
export function legacyConfLists(n: NetworkRecord, c: ConfListContext): NetConfList[] {
  const now = networkConfList(n, c);
  const bridge = now.plugins[0]!;
  return [
    { ...now, plugins: [{ ...bridge, ipMasq: n.ipMasquerade }, PORTMAP, { type: 'firewall', backend: 'iptables', iptablesAdminChainName: c.adminChain }] },
    { ...now, plugins: [bridge, PORTMAP] },
  ];
}

/**
 * The list for one attachment: only the container's first routable network gives it a default
 * route (a second would fail with "file exists"); a portmap an edited list still has never runs
 * (berth maps the ports itself: both would DNAT them).
 */
export function attachList(list: NetConfList, o: { defaultRoute: boolean }): NetConfList {
  const plugins = list.plugins.filter((p) => p.type !== 'portmap').map((p) => (p.type === 'bridge' && !o.defaultRoute ? { ...p, isDefaultGateway: false } : p));
  return { ...list, plugins };
}
