/**
 * The bridge plugin's ADD and DEL, done by berthd itself for the one config list it writes for
 * its networks (bridge + host-local, nothing else: engine/network/conflist.ts). The plugins cost
 * two Go processes per ADD and per DEL (~16 ms and ~20 of a `run --rm` here); this is one short
 * C process (native/veth: the bridge, the veth pair, the address and the default route over
 * rtnetlink) and host-local's own files written by berthd (host-local.ts). What it leaves is what
 * the plugins leave, and the result it caches is theirs in shape, so either can DEL what the other
 * added. A list an admin has edited (another plugin, another IPAM, other fields) goes to the
 * plugins as before.
 */
import { isAbsolute } from 'node:path';
import { findNativeBin } from '../../core/node/native-bin';
import { SupervisorError, errorKind, internal } from '../../core/errors';
import { describeFailure, TOOL_PATH, type ToolRunner } from '../exec';
import { parseIp } from '../ipv4';
import { HostLocalStore, type HostLocalRange } from './host-local';
import { IFNAME, type CniResult, type NetConfList, type RuntimeConf } from './types';

/** What berthd needs of a list it can attach natively. */
export interface NativeBridgeConf {
  network: string;
  cniVersion: string;
  bridge: string;
  isDefaultGateway: boolean;
  hairpin: boolean;
  mtu?: number;
  dataDir: string;
  range: HostLocalRange;
}

const BRIDGE_KEYS = new Set(['type', 'bridge', 'isGateway', 'isDefaultGateway', 'ipMasq', 'hairpinMode', 'mtu', 'ipam']);
const IPAM_KEYS = new Set(['type', 'dataDir', 'ranges']);
const RANGE_KEYS = new Set(['subnet', 'gateway', 'rangeStart', 'rangeEnd']);
const ARG_KEYS = new Set(['IgnoreUnknown', 'IP']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const only = (o: Record<string, unknown>, keys: Set<string>) => Object.keys(o).every((k) => keys.has(k));
const optional = (v: unknown, type: 'boolean' | 'string') => v === undefined || typeof v === type;

/**
 * The list's conf when it is exactly the shape berthd writes (any value of its fields, none
 * other) and the runtime args are only berth's own (IP); otherwise undefined: the plugins run.
 */
export function nativeBridgeConf(list: NetConfList, args: RuntimeConf['args']): NativeBridgeConf | undefined {
  const p = list.plugins.length === 1 ? list.plugins[0]! : undefined;
  if (!p || p.type !== 'bridge' || list.cniVersion !== '1.0.0' || !only(p, BRIDGE_KEYS)) return undefined;
  if (p.isGateway !== true || (p.ipMasq !== undefined && p.ipMasq !== false)) return undefined;
  if (typeof p.bridge !== 'string' || !IFNAME.test(p.bridge) || !optional(p.isDefaultGateway, 'boolean') || !optional(p.hairpinMode, 'boolean'))
    return undefined;
  const mtu = p.mtu;
  if (mtu !== undefined && !(typeof mtu === 'number' && Number.isInteger(mtu) && mtu >= 68 && mtu <= 65535)) return undefined;
  const ipam = p.ipam;
  if (!isObject(ipam) || ipam.type !== 'host-local' || !only(ipam, IPAM_KEYS)) return undefined;
  if (typeof ipam.dataDir !== 'string' || !isAbsolute(ipam.dataDir)) return undefined;
  const sets = ipam.ranges;
  if (!Array.isArray(sets) || sets.length !== 1 || !Array.isArray(sets[0]) || sets[0].length !== 1) return undefined;
  const r = (sets[0] as unknown[])[0];
  if (!isObject(r) || !only(r, RANGE_KEYS) || typeof r.subnet !== 'string') return undefined;
  const range: HostLocalRange = { subnet: r.subnet };
  for (const k of ['gateway', 'rangeStart', 'rangeEnd'] as const) {
    const v = r[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || parseIp(v) === undefined) return undefined;
    range[k] = v;
  }
  if ((args ?? []).some(([k]) => !ARG_KEYS.has(k))) return undefined;
  return {
    network: list.name,
    cniVersion: list.cniVersion,
    bridge: p.bridge,
    isDefaultGateway: p.isDefaultGateway === true,
    hairpin: p.hairpinMode === true,
    ...(mtu !== undefined ? { mtu } : {}),
    dataDir: ipam.dataDir,
    range,
  };
}

/** Docker's: the address in the MAC, so a reused address never meets a stale neighbour entry. */
export function macFor(ip: string): string {
  const n = parseIp(ip) ?? 0;
  return ['02', '42', ...[24, 16, 8, 0].map((s) => ((n >>> s) & 255).toString(16).padStart(2, '0'))].join(':');
}

/** BERTH_VETH, else native/build/berth-veth (core/node/native-bin.ts); undefined when not built. */
export function defaultVethBin(): string | undefined {
  return findNativeBin('berth-veth', 'BERTH_VETH');
}

export interface NativeBridgeOptions {
  /** native/build/berth-veth */
  veth: string;
  run: ToolRunner;
  timeoutMs: number;
}

export class NativeBridge {
  constructor(private readonly o: NativeBridgeOptions) {}

  /** ADD: an address from host-local's store, then the interfaces. A failure is undone by the caller's DEL. */
  async add(c: NativeBridgeConf, rt: RuntimeConf): Promise<CniResult> {
    const requested = rt.args?.find(([k]) => k === 'IP')?.[1];
    const a = await new HostLocalStore(c.dataDir).allocate(c.network, rt.containerId, rt.ifName, c.range, requested).catch((e) => {
      throw reworded(c.network, e);
    });
    const mac = macFor(a.ip);
    const out = await this.veth(`network ${c.network}`, [
      'add',
      `bridge=${c.bridge}`,
      `netns=${rt.netns}`,
      `ifname=${rt.ifName}`,
      `address=${a.ip}/${a.prefixLen}`,
      `mac=${mac}`,
      `gateway=${a.gateway}`,
      ...(c.isDefaultGateway ? ['route=1'] : []),
      ...(c.hairpin ? ['hairpin=1'] : []),
      ...(c.mtu ? [`mtu=${c.mtu}`] : []),
    ]);
    const host = /^host (\S+) (\S+)$/m.exec(out);
    const bridge = /^bridge (\S+)$/m.exec(out);
    if (!host || !bridge) throw internal(`network ${c.network}: berth-veth printed no interfaces (${JSON.stringify(out.slice(0, 200))})`);
    return {
      cniVersion: c.cniVersion,
      interfaces: [
        { name: c.bridge, mac: bridge[1] },
        { name: host[1], mac: host[2] },
        { name: rt.ifName, mac, sandbox: rt.netns },
      ],
      ips: [{ interface: 2, address: `${a.ip}/${a.prefixLen}`, gateway: a.gateway }],
      routes: c.isDefaultGateway ? [{ dst: '0.0.0.0/0', gw: a.gateway }] : [],
      dns: {},
    };
  }

  /** DEL: the interface (and its peer) when the namespace is still there, and the address. */
  async del(c: NativeBridgeConf, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>, netns: string): Promise<void> {
    if (netns) await this.veth(`network ${c.network}`, ['del', `netns=${netns}`, `ifname=${rt.ifName}`]);
    await new HostLocalStore(c.dataDir).release(c.network, rt.containerId, rt.ifName);
  }

  /**
   * Deletes host ends of veth pairs (bridge ports) now, instead of waiting for the kernel to take
   * them down with their namespace: that waits for the container's mount namespace (its sysfs
   * holds the network namespace) to be torn down after the monitor lets go of it. Resolves once
   * the program is done, which is after the links have left /sys (an RCU barrier later).
   */
  async deletePorts(names: readonly string[]): Promise<void> {
    await this.veth(`veths ${names.join(', ')}`, ['del-port', ...names]);
  }

  /** Runs berth-veth; a failure reads `<what>: berth-veth <command>: <its stderr>`. */
  private async veth(what: string, args: string[]): Promise<string> {
    const r = await this.o.run(this.o.veth, args, { env: { PATH: TOOL_PATH }, timeoutMs: this.o.timeoutMs });
    if (r.code !== 0) throw internal(`${what}: berth-veth ${args[0]}: ${describeFailure(r)}`);
    return r.stdout;
  }
}

/** The plugin's wording: `network NAME: …`, the kind kept. */
function reworded(network: string, e: unknown): unknown {
  const kind = errorKind(e);
  return kind ? new SupervisorError(kind, `network ${network}: ${(e as Error).message}`, { cause: e }) : e;
}
