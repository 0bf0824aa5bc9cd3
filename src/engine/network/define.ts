/**
 * `network create`'s options checked and turned into a record: Docker's name rules, one driver
 * (bridge), IPv4 subnets that overlap nothing (other networks, the host's routes), the gateway
 * and IP range inside the subnet, and the bridge driver options Docker users pass with -o.
 */
import { randomBytes } from 'node:crypto';
import { conflict, invalidArgument, notImplemented } from '../../core/errors';
import { contains, formatCidr, formatIp, lastAddress, mustIp, overlaps, parseCidr, type Cidr } from '../../net/ipv4';
import { DEFAULT_NETWORK, type NetworkCreateOptions, type NetworkRecord } from './types';

export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** Names that are modes, not networks. */
export const RESERVED_NAMES = new Set(['none', 'host', 'default', DEFAULT_NETWORK]);
const IFNAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_MTU = 'com.docker.network.driver.mtu';
const KNOWN_OPTIONS = [OPT_BRIDGE_NAME, OPT_MASQUERADE, OPT_MTU];

export interface DefineContext {
  /** Subnets in use: other networks' and the host's routes. */
  taken: Array<{ cidr: Cidr; what: string }>;
  /** Bridge names in use by other networks. */
  bridges: Set<string>;
  /** A free subnet from the pool (called only when none was given). */
  allocate(): Cidr;
  /** True when a link of that name exists on the host. */
  linkExists(name: string): boolean;
}

const bool = (v: string, key: string): boolean => {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidArgument(`option ${key}=${v}: want true or false`);
};

export function newNetworkId(): string {
  return randomBytes(32).toString('hex');
}

/** The record for a new network (not yet stored). `isDefault` makes berth's default network. */
export function defineNetwork(o: NetworkCreateOptions, ctx: DefineContext, extra: { id?: string; isDefault?: boolean; bridge?: string } = {}): NetworkRecord {
  const name = o.name;
  if (!NETWORK_NAME.test(name))
    throw invalidArgument(`invalid network name ${JSON.stringify(name)}: letters, digits, _ . - (at most 64, starting with a letter or digit)`);
  if (!extra.isDefault && RESERVED_NAMES.has(name)) throw conflict(`network name ${name} is reserved (a pre-defined network or mode)`);
  const driver = o.driver || 'bridge';
  if (driver !== 'bridge') throw notImplemented(`network driver ${JSON.stringify(driver)}: berth has only the bridge driver`);
  if (o.ipv6) throw notImplemented('IPv6 networks are not supported yet');
  const options = { ...(o.options ?? {}) };
  const unknown = Object.keys(options).filter((k) => !KNOWN_OPTIONS.includes(k));
  if (unknown.length) throw invalidArgument(`unknown network option ${unknown.join(', ')} (berth knows ${KNOWN_OPTIONS.join(', ')})`);

  let subnet: Cidr;
  if (o.subnet) {
    subnet = parseCidr(o.subnet, 'subnet');
    if (subnet.len > 30) throw invalidArgument(`subnet ${o.subnet}: too small for a gateway and a container (/30 at most)`);
    const clash = ctx.taken.find((t) => overlaps(t.cidr, subnet));
    if (clash) throw conflict(`subnet ${o.subnet} overlaps ${clash.what} (${formatCidr(clash.cidr)})`);
  } else {
    if (o.gateway || o.ipRange) throw invalidArgument('--gateway and --ip-range need --subnet');
    subnet = ctx.allocate();
  }
  const firstHost = subnet.base + 1;
  const broadcast = lastAddress(subnet);
  const gw = o.gateway ? mustIp(o.gateway, 'gateway') : firstHost;
  if (!contains(subnet, gw) || gw === subnet.base || gw === broadcast)
    throw invalidArgument(`gateway ${formatIp(gw)} is not a host address of subnet ${formatCidr(subnet)}`);
  let ipRange: string | undefined;
  if (o.ipRange) {
    const r = parseCidr(o.ipRange, 'ip-range');
    if (r.len < subnet.len || !contains(subnet, r.base)) throw invalidArgument(`ip-range ${o.ipRange} is not inside subnet ${formatCidr(subnet)}`);
    ipRange = formatCidr(r);
  }

  const id = extra.id ?? newNetworkId();
  const bridge = options[OPT_BRIDGE_NAME] ?? extra.bridge ?? `berth${id.slice(0, 10)}`;
  if (!IFNAME.test(bridge)) throw invalidArgument(`bridge name ${JSON.stringify(bridge)}: at most 15 letters, digits, _ . -`);
  if (ctx.bridges.has(bridge)) throw conflict(`bridge ${bridge} is used by another network`);
  if (options[OPT_BRIDGE_NAME] && ctx.linkExists(bridge)) throw conflict(`bridge ${bridge} exists on the host already and is not berth's: pick another name`);
  const internal = o.internal ?? false;
  const masq = options[OPT_MASQUERADE] === undefined ? true : bool(options[OPT_MASQUERADE], OPT_MASQUERADE);
  let mtu = 0;
  if (options[OPT_MTU] !== undefined) {
    mtu = Number(options[OPT_MTU]);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw invalidArgument(`option ${OPT_MTU}=${options[OPT_MTU]}: want 68–65535`);
  }
  return {
    version: 1,
    id,
    name,
    driver: 'bridge',
    created: new Date().toISOString(),
    subnet: formatCidr(subnet),
    gateway: formatIp(gw),
    ...(ipRange ? { ipRange } : {}),
    bridge,
    ipMasquerade: masq && !internal,
    internal,
    mtu,
    labels: { ...(o.labels ?? {}) },
    options,
    isDefault: extra.isDefault ?? false,
  };
}

/** The first /`len` of `pool` that overlaps nothing taken. */
export function allocateSubnet(pool: Cidr, len: number, taken: readonly Cidr[]): Cidr | undefined {
  if (len < pool.len) return undefined;
  const step = 2 ** (32 - len);
  const count = 2 ** (len - pool.len);
  for (let i = 0; i < count; i++) {
    const c = { base: (pool.base + i * step) >>> 0, len };
    if (!taken.some((t) => overlaps(t, c))) return c;
  }
  return undefined;
}
