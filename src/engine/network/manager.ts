/**
 * Container networking in berthd: the network store and the containers' sandboxes. The engine
 * calls
 *
 *   prepare()                  at create: check the request, get the config to keep with the container
 *   specNetns()                at create: the OCI spec's network namespace
 *   attach()                   at each start, before the task: namespace, ADDs, ports, names, /etc files
 *   detach()                   once the task is gone (exit, stop, crash, rm): DELs, all released
 *   connect() / disconnect()   any time; live on a running container (returns the config to keep)
 *   restore()                  at berthd start: keep what runs, take down what does not
 *
 * and serializes them per container (its lifecycle lock).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, invalidArgument, notFound } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { writeFileAtomic } from '../../core/node/files';
import { defaultVethBin } from '../../net/cni/native-bridge';
import { CniRunner, DEFAULT_PLUGIN_DIRS } from '../../net/cni/runner';
import type { Upstream } from '../../net/dns/server';
import { Iptables, NetworkFirewall } from '../../net/iptables';
import { deleteLink, linkExists, routedSubnets } from '../../net/links';
import type { ToolRunner } from '../../net/exec';
import { NetnsDir, type MakeNetns, type UnmountNetns } from '../../net/netns';
import { PublishedPorts } from '../../net/published';
import { Attachments, type ContainerRef } from './attachments';
import { NetworkDns } from './dns';
import { hostResolvConf, hostsFile, resolvConf, upstreamServers } from './etc';
import { ContainerNames } from './names';
import { prepareNetworking, type PrepareContext } from './request';
import { SandboxFiles } from './sandbox';
import { NetworkStore } from './store';
import type {
  ContainerNetConfig,
  NetworkCreateOptions,
  NetworkInspect,
  NetworkListOptions,
  NetworkRecord,
  NetworkRequest,
  NetworkSettings,
  SpecNetns,
} from './types';

export type { ContainerRef } from './attachments';

export interface NetworkManagerOptions {
  /** berthd's root (networks, conflists) and state (namespaces, CNI cache, leases, sandboxes). */
  root: string;
  state: string;
  pluginDirs?: readonly string[];
  /** Subnets for new networks (/24s of it). */
  pool: string;
  defaultSubnet: string;
  defaultBridge: string;
  /** Prefix of berth's iptables chains (`<prefix>-1`, `-2`, `-F` in filter, `-M` in nat). */
  isolationChain: string;
  /** Where `-p` publishes when it names no address. */
  defaultPublishAddress: string;
  /** Port of the resolver on each gateway (53). */
  dnsPort: number;
  /** `ip` or `ip:port`; default: the host resolv.conf's name servers. */
  dnsUpstreams?: readonly string[];
  /** The host's resolv.conf (containers' resolv.conf and the default upstreams). */
  resolvConf: string;
  cniTimeoutMs?: number;
  /**
   * berthd's helper launcher: makes and unmounts containers' network namespaces and runs the CNI
   * plugins and berth-veth (default: `unshare`, `umount`, and spawns of berthd's own).
   */
  tools?: { makeNetns: MakeNetns; unmountNetns?: UnmountNetns; run: ToolRunner };
  /**
   * native/build/berth-veth, which attaches berthd's own config lists without the CNI plugins
   * (net/cni/native-bridge.ts); default: found beside berthd; false: the plugins always run.
   */
  veth?: string | false;
  log: Logger;
}

/** Paths of the container's /etc files, rewritten at attach with what the network gives. */
export interface EtcPaths {
  hostsPath: string;
  resolvConfPath: string;
}

export class NetworkManager {
  readonly store: NetworkStore;
  readonly runner: CniRunner;
  readonly netns: NetnsDir;
  readonly firewall: NetworkFirewall;
  private readonly attachments: Attachments;
  private readonly dns: NetworkDns;
  private upstreams: Upstream[] = [];

  constructor(readonly o: NetworkManagerOptions) {
    const dir = join(o.state, 'network');
    this.firewall = new NetworkFirewall(new Iptables(), o.isolationChain);
    this.runner = new CniRunner({
      pluginDirs: o.pluginDirs ?? DEFAULT_PLUGIN_DIRS,
      cacheDir: join(dir, 'cni'),
      timeoutMs: o.cniTimeoutMs,
      log: o.log,
      run: o.tools?.run,
      veth: o.veth === false ? undefined : (o.veth ?? defaultVethBin()),
    });
    this.netns = new NetnsDir(join(dir, 'netns'), { make: o.tools?.makeNetns, unmount: o.tools?.unmountNetns, run: o.tools?.run });
    this.store = new NetworkStore({
      dir: join(o.root, 'network'),
      ipamDir: join(dir, 'ipam'),
      firewall: this.firewall,
      pool: o.pool,
      defaultBridge: o.defaultBridge,
      defaultSubnet: o.defaultSubnet,
      hostRoutes: routedSubnets,
      linkExists,
      deleteLink,
      log: o.log,
    });
    const names = new ContainerNames();
    this.dns = new NetworkDns({ port: o.dnsPort, names, network: (id) => this.store.find(id), upstreams: () => this.upstreams, log: o.log });
    this.attachments = new Attachments({
      store: this.store,
      runner: this.runner,
      published: new PublishedPorts(this.firewall.ipt, this.firewall.published, this.firewall.forward, { log: o.log, run: o.tools?.run }),
      netns: this.netns,
      files: new SandboxFiles(join(dir, 'sandboxes')),
      names,
      dns: this.dns,
      log: o.log,
    });
  }

  /** Loads the networks (re-adding their iptables rules) and the upstreams; restore() comes next. */
  async open(): Promise<void> {
    await this.store.load();
    const list = this.o.dnsUpstreams ?? upstreamServers(await this.hostResolv());
    this.upstreams = list.map((s) => {
      const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(s);
      if (!m) throw invalidArgument(`DNS upstream ${JSON.stringify(s)}: want ip or ip:port`);
      return { host: m[1]!, port: m[2] ? Number(m[2]) : 53 };
    });
  }

  private async hostResolv(): Promise<string> {
    return hostResolvConf(this.o.resolvConf);
  }

  /** Stops serving (DNS, port holds); nothing is taken down: containers keep their networking. */
  async close(): Promise<void> {
    await this.dns.close();
    this.attachments.close();
  }

  // ---- networks

  async createNetwork(opts: NetworkCreateOptions): Promise<NetworkInspect> {
    return this.inspectRecord(await this.store.create(opts));
  }

  inspectNetwork(ref: string): NetworkInspect {
    return this.inspectRecord(this.store.get(ref));
  }

  listNetworks(o: NetworkListOptions = {}): NetworkInspect[] {
    return this.store.list(o, (id) => this.attachments.inUse(id)).map((n) => this.inspectRecord(n));
  }

  async removeNetwork(ref: string): Promise<void> {
    const rec = await this.store.remove(ref, (id) => this.attachments.inUse(id));
    await this.dns.drop(rec.id);
  }

  /** Removes every user network without containers (matching `label` and `until` filters); returns their names. */
  async pruneNetworks(filters: Record<string, string[]> = {}): Promise<string[]> {
    const until = filters.until?.[0] ? Date.parse(filters.until[0]) : undefined;
    if (until !== undefined && Number.isNaN(until)) throw invalidArgument(`prune filter until=${filters.until![0]}: not a time`);
    const removed: string[] = [];
    for (const n of this.store.list({ filters: { label: filters.label ?? [] } })) {
      if (n.isDefault || this.attachments.inUse(n.id) || (until !== undefined && Date.parse(n.created) >= until)) continue;
      try {
        await this.removeNetwork(n.id);
        removed.push(n.name);
      } catch (e) {
        this.o.log.warn('network prune: not removed', { network: n.name, err: e as Error });
      }
    }
    return removed;
  }

  private inspectRecord(n: NetworkRecord): NetworkInspect {
    const { version: _v, ...rest } = n;
    const containers: NetworkInspect['containers'] = {};
    for (const s of this.attachments.all())
      for (const e of s.endpoints)
        if (e.networkId === n.id) containers[s.id] = { name: s.name, ipv4Address: `${e.ipAddress}/${e.ipPrefixLen}`, macAddress: e.macAddress };
    return { ...rest, scope: 'local', enableIPv6: false, configPath: this.store.confListPath(n), containers };
  }

  // ---- containers

  prepare(req: NetworkRequest, c: Omit<PrepareContext, 'store' | 'defaultPublishAddress'>): Promise<{ config: ContainerNetConfig; warnings: string[] }> {
    return prepareNetworking(req, { ...c, store: this.store, defaultPublishAddress: this.o.defaultPublishAddress });
  }

  /** The network namespace for the OCI spec; `configOf` gives other containers' configs (`container:` chains). */
  specNetns(id: string, config: ContainerNetConfig, configOf: (id: string) => ContainerNetConfig | undefined): SpecNetns {
    const seen = new Set<string>([id]);
    let cur = { id, config };
    for (;;) {
      if (cur.config.mode === 'host') return { kind: 'host' };
      if (cur.config.mode !== 'container') return { kind: 'path', path: this.netns.path(cur.id) };
      const next = cur.config.joinContainer!;
      if (seen.has(next)) throw invalidArgument(`container network modes form a loop through ${next}`);
      seen.add(next);
      const c = configOf(next);
      if (!c) throw notFound(`container ${next}, whose network namespace this one joins: not found`);
      cur = { id: next, config: c };
    }
  }

  settings(id: string): NetworkSettings | undefined {
    return this.attachments.settings(id);
  }

  /**
   * At start, before the task: bridge and none modes get a sandbox (a failure undoes it);
   * `container:` needs its target's namespace to be there; /etc files are written when given
   * (`container:` shares its target's, as Docker does).
   */
  async attach(c: ContainerRef, config: ContainerNetConfig, etc?: EtcPaths): Promise<NetworkSettings> {
    if (config.mode === 'container') {
      if (!(await this.netns.exists(config.joinContainer!)))
        throw failedPrecondition(`cannot join the network of a non-running container: ${config.joinContainer}`);
      return { mode: 'container', sandboxKey: this.netns.path(config.joinContainer!), networks: [], ports: [] };
    }
    if (config.mode === 'host') {
      if (etc) await this.writeEtc(c, config, etc);
      return { mode: 'host', sandboxKey: '', networks: [], ports: [] };
    }
    await this.attachments.attach(c, config);
    try {
      if (etc) await this.writeEtc(c, config, etc);
    } catch (e) {
      await this.attachments.detach(c.id).catch(() => undefined);
      throw e;
    }
    return this.settings(c.id)!;
  }

  detach(id: string): Promise<void> {
    return this.attachments.detach(id);
  }

  connect(c: ContainerRef, config: ContainerNetConfig, network: string, o: { ip?: string; aliases?: string[] } = {}): Promise<ContainerNetConfig> {
    return this.attachments.connect(c, config, network, o);
  }

  disconnect(c: ContainerRef, config: ContainerNetConfig, network: string): Promise<ContainerNetConfig> {
    return this.attachments.disconnect(c, config, network);
  }

  rename(id: string, name: string): Promise<void> {
    return this.attachments.rename(id, name);
  }

  restore(isRunning: (id: string, ns: string) => boolean): Promise<{ kept: number; released: number }> {
    return this.attachments.restore(isRunning);
  }

  private async writeEtc(c: ContainerRef, config: ContainerNetConfig, etc: EtcPaths): Promise<void> {
    const hostResolv = await this.hostResolv();
    const s = this.attachments.get(c.id);
    const first = s?.endpoints[0];
    const embedded = s?.endpoints.find((e) => !this.store.find(e.networkId)?.isDefault && this.dns.isServing(e.networkId));
    const hosts =
      config.mode === 'host'
        ? hostsFile({ base: (await readFile('/etc/hosts', 'utf8').catch(() => '')).trimEnd().split('\n'), hostname: c.hostname, extraHosts: config.extraHosts })
        : hostsFile({ hostname: c.hostname, domainname: c.domainname, ip: first?.ipAddress, extraHosts: config.extraHosts, hostGateway: first?.gateway });
    const resolv =
      config.mode === 'host' && !config.dns.servers.length ? hostResolv : resolvConf({ host: hostResolv, embedded: embedded?.gateway, dns: config.dns });
    await writeFileAtomic(etc.hostsPath, hosts, { mode: 0o644 });
    await writeFileAtomic(etc.resolvConfPath, resolv, { mode: 0o644 });
  }
}
