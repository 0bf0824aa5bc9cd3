/**
 * The live side of container networking: each container's sandbox (pinned namespace, CNI
 * attachments, held host ports, its names), made at start, changed by connect/disconnect, taken
 * down when the task is gone, and matched with what still runs after a berthd restart.
 */
import { conflict, failedPrecondition, invalidArgument, notFound } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { CniRunner } from '../../net/cni/runner';
import { containerAddresses, hostInterfaces } from '../../net/cni/result';
import { isBridgePort, linksGone } from '../../net/links';
import { netnsHeld, type NetnsDir } from '../../net/netns';
import { PortReservations } from '../../net/ports';
import type { PublishedPorts } from '../../net/published';
import { attachList } from './conflist';
import type { NetworkDns } from './dns';
import type { ContainerNames } from './names';
import { endpoint } from './request';
import type { Sandbox, SandboxFiles } from './sandbox';
import type { NetworkStore } from './store';
import type { ContainerNetConfig, EndpointConfig, EndpointSettings, NetworkRecord, NetworkSettings } from './types';

export interface ContainerRef {
  id: string;
  ns: string;
  name: string;
  hostname: string;
  domainname?: string;
}

export interface AttachmentsDeps {
  store: NetworkStore;
  runner: CniRunner;
  published: PublishedPorts;
  netns: NetnsDir;
  files: SandboxFiles;
  names: ContainerNames;
  dns: NetworkDns;
  log: Logger;
}

const shortId = (id: string) => id.slice(0, 12);

export class Attachments {
  private readonly live = new Map<string, Sandbox>();
  private readonly ports = new PortReservations();
  /** Attachments being made, per network id: a network is not removed under them. */
  private readonly pending = new Map<string, number>();

  constructor(private readonly d: AttachmentsDeps) {}

  get(id: string): Sandbox | undefined {
    return this.live.get(id);
  }

  all(): Sandbox[] {
    return [...this.live.values()];
  }

  inUse(networkId: string): boolean {
    return (this.pending.get(networkId) ?? 0) > 0 || this.all().some((s) => s.endpoints.some((e) => e.networkId === networkId));
  }

  settings(id: string): NetworkSettings | undefined {
    const s = this.live.get(id);
    if (!s) return undefined;
    return { mode: s.mode, sandboxKey: s.netns, networks: s.endpoints.map((e) => ({ ...e })), ports: s.ports.map((p) => ({ ...p })) };
  }

  private async using<T>(nets: readonly NetworkRecord[], fn: () => Promise<T>): Promise<T> {
    for (const n of nets) this.pending.set(n.id, (this.pending.get(n.id) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      for (const n of nets) this.pending.set(n.id, (this.pending.get(n.id) ?? 1) - 1);
    }
  }

  private async save(s: Sandbox): Promise<void> {
    await this.d.files.write(s);
    if (s.state === 'attached') this.d.names.set(s);
  }

  /** A sandbox for a bridge-mode or none-mode container (see NetworkManager.attach). */
  async attach(c: ContainerRef, config: ContainerNetConfig): Promise<Sandbox> {
    if (config.mode !== 'bridge' && config.mode !== 'none') throw invalidArgument(`no sandbox for network mode ${config.mode}`);
    if (this.live.has(c.id) || (await this.d.netns.exists(c.id))) await this.detach(c.id);
    const nets = config.endpoints.map((e) => this.d.store.find(e.networkId) ?? missing(e));
    return this.using(nets, async () => {
      const s: Sandbox = {
        version: 1,
        id: c.id,
        ns: c.ns,
        name: c.name,
        hostname: c.hostname,
        mode: config.mode as 'bridge' | 'none',
        netns: this.d.netns.path(c.id),
        state: 'attaching',
        endpoints: [],
        ports: [],
        dnsServers: [...config.dns.servers],
      };
      try {
        await this.d.files.write(s);
        this.live.set(c.id, s);
        await this.d.netns.create(c.id); // with lo up
        const gw = nets.findIndex((n) => !n.internal);
        if (gw >= 0 && config.ports.length) {
          s.ports = await this.holdPorts(config);
          s.portsOn = nets[gw]!.id;
        }
        for (let i = 0; i < nets.length; i++) {
          s.endpoints.push(await this.add(s, nets[i]!, config.endpoints[i]!, `eth${i}`, i === gw));
          if (i < nets.length - 1) await this.d.files.write(s);
        }
        s.state = 'attached';
        await this.save(s);
        for (const n of nets) await this.d.dns.ensure(n);
        return s;
      } catch (e) {
        await this.detach(c.id).catch((d) => this.d.log.error('network: undoing a failed attach failed too', { id: c.id, err: d as Error }));
        throw e;
      }
    });
  }

  private async holdPorts(config: ContainerNetConfig): Promise<Sandbox['ports']> {
    const held: Sandbox['ports'] = [];
    try {
      for (const p of config.ports) {
        const got = await this.ports.reserve({ ip: p.hostIp, port: p.hostPort, proto: p.proto });
        held.push({ ...p, hostPort: got.port });
      }
    } catch (e) {
      for (const p of held) this.ports.release({ ip: p.hostIp, port: p.hostPort, proto: p.proto });
      throw e;
    }
    return held;
  }

  /** One network's ADD into the sandbox; `primary` gives the default route and, with ports held, the mappings. */
  private async add(s: Sandbox, n: NetworkRecord, e: EndpointConfig, ifName: string, primary: boolean): Promise<EndpointSettings> {
    const list = attachList(await this.d.store.confList(n), { defaultRoute: primary });
    const result = await this.d.runner.add(list, {
      containerId: s.id,
      netns: s.netns,
      ifName,
      ...(e.ip
        ? {
            args: [
              ['IgnoreUnknown', '1'],
              ['IP', e.ip],
            ] as Array<[string, string]>,
          }
        : {}),
    });
    const a = containerAddresses(result).find((x) => x.family === 4);
    if (primary && s.ports.length > 0 && s.portsOn === n.id && a) {
      const pub = { bridge: n.bridge, containerId: s.id, ip: a.ip, mappings: s.ports };
      const rules = this.d.published.ruleSet(pub);
      s.portRules = rules.dnat;
      s.portAccepts = rules.accepts;
      await this.d.published.add(pub, rules);
    }
    return {
      networkId: n.id,
      networkName: n.name,
      ifName,
      ipAddress: a?.ip ?? '',
      ipPrefixLen: a?.prefixLen ?? 0,
      gateway: a?.gateway ?? n.gateway,
      macAddress: a?.mac ?? '',
      aliases: [...e.aliases],
      dnsNames: n.isDefault ? [] : [...new Set([s.name, ...e.aliases, shortId(s.id)].filter(Boolean))],
    };
  }

  /**
   * Takes a container's networking down: its names first; then, all at once, the namespace
   * (the kernel takes its interfaces and their veth peers down by itself) and the DEL of every
   * attachment the CNI cache holds (the exact ADD's config, args and result: each network, lo
   * of an older berthd, an ADD a crash cut off before the sandbox listed it), run without a
   * namespace, so each plugin releases only what it holds outside it (addresses, port
   * mappings, rules); the held ports; then it returns once the veths are gone. Idempotent. A
   * DEL that fails keeps the sandbox file, so the next detach or restore tries again.
   */
  async detach(id: string): Promise<void> {
    const s = this.live.get(id);
    this.d.names.delete(id);
    // The unmount goes first (nothing it frees waits for the cache read); only the inode, for the
    // joiner check below, is needed before it.
    const ino = await this.d.netns.inode(id);
    const removed = this.d.netns.remove(id, ino !== undefined);
    const cached = this.d.runner.attachments(id);
    const dels = cached.then((all) => Promise.allSettled(all.map((a) => this.d.runner.del(a.networkName, { containerId: id, ifName: a.ifName, netns: '' }))));
    const done = [...(await Promise.allSettled([removed, cached, this.unpublish(id, s)])), ...(await dels.catch(() => []))];
    for (const p of s?.ports ?? []) this.ports.release({ ip: p.hostIp, port: p.hostPort, proto: p.proto });
    if (s) s.ports = [];
    const failed = done.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    // Host ends still there once the namespace is unmounted (one already gone needs no wait).
    const veths = (await cached).flatMap((a) => hostInterfaces(a.result)).filter(isBridgePort);
    // Deleted now rather than waited for: the kernel takes them down with the namespace only once
    // the container's mount namespace (whose /sys holds it) is gone, 10-40 ms after the exit.
    // They leave /sys at once; the deletion's own end (an RCU barrier) is not waited for.
    this.d.runner
      .deleteBridgePorts(veths)
      ?.catch((e: unknown) => this.d.log.warn('network: deleting veths failed (the kernel takes them down with their namespace)', { id, err: e as Error }));
    await linksGone(veths, { held: () => ino !== undefined && netnsHeld(ino) });
    await this.d.files.remove(id);
    this.live.delete(id);
  }

  /** Removes the DNAT rules berthd wrote for the sandbox's ports (the portmap plugin's go with their DEL). */
  private async unpublish(id: string, s: Sandbox | undefined): Promise<void> {
    if (!s?.portRules?.length && !s?.portAccepts?.length) return;
    await this.d.published.remove(id, { dnat: s.portRules ?? [], accepts: s.portAccepts });
    s.portRules = undefined;
    s.portAccepts = undefined;
  }

  /** `network connect`: the new config; on a running container the network is added now (ethN). */
  async connect(c: ContainerRef, config: ContainerNetConfig, ref: string, o: { ip?: string; aliases?: string[] } = {}): Promise<ContainerNetConfig> {
    if (config.mode !== 'bridge') throw failedPrecondition(`container ${c.name} uses network mode ${config.mode}: it cannot be connected to networks`);
    const n = ref === 'bridge' || ref === 'default' ? await this.d.store.ensureDefault() : this.d.store.get(ref);
    if (config.endpoints.some((e) => e.networkId === n.id)) throw conflict(`endpoint with name ${c.name} already exists in network ${n.name}`);
    const ep = endpoint(n, o);
    const next: ContainerNetConfig = { ...config, endpoints: [...config.endpoints, ep] };
    const s = this.live.get(c.id);
    if (!s || s.state !== 'attached') return next;
    await this.using([n], async () => {
      const used = new Set(s.endpoints.map((e) => e.ifName));
      let i = 0;
      while (used.has(`eth${i}`)) i++;
      const routed = s.endpoints.some((e) => !this.d.store.find(e.networkId)?.internal);
      s.endpoints.push(await this.add(s, n, ep, `eth${i}`, !routed && !n.internal));
      await this.save(s);
      await this.d.dns.ensure(n);
    });
    return next;
  }

  /** `network disconnect`: the new config; on a running container the network's DEL runs now. */
  async disconnect(c: ContainerRef, config: ContainerNetConfig, ref: string): Promise<ContainerNetConfig> {
    const n = this.d.store.find(ref);
    const i = config.endpoints.findIndex((e) => e.networkId === n?.id || e.networkName === ref);
    if (i < 0) throw notFound(`container ${c.name} is not connected to network ${ref}`);
    const gone = config.endpoints[i]!;
    const s = this.live.get(c.id);
    const ep = s?.endpoints.find((e) => e.networkId === gone.networkId);
    if (s && ep) {
      await this.d.runner.del(ep.networkName, { containerId: c.id, ifName: ep.ifName, netns: s.netns });
      s.endpoints = s.endpoints.filter((e) => e !== ep);
      if (s.portsOn === gone.networkId) {
        await this.unpublish(c.id, s);
        for (const p of s.ports) this.ports.release({ ip: p.hostIp, port: p.hostPort, proto: p.proto });
        s.ports = [];
        s.portsOn = undefined;
      }
      await this.save(s);
    }
    return { ...config, endpoints: config.endpoints.filter((_, k) => k !== i) };
  }

  /** A renamed container is found by its new name. */
  async rename(id: string, name: string): Promise<void> {
    const s = this.live.get(id);
    if (!s) return;
    const old = s.name;
    s.name = name;
    for (const e of s.endpoints) if (e.dnsNames.length) e.dnsNames = [...new Set(e.dnsNames.map((d) => (d === old ? name : d)))];
    await this.save(s);
  }

  /**
   * After a berthd restart: a sandbox whose container still runs is kept (names served again,
   * ports held again); any other is taken down, as are CNI attachments and namespaces that no
   * sandbox accounts for.
   */
  async restore(isRunning: (id: string, ns: string) => boolean): Promise<{ kept: number; released: number }> {
    const out = { kept: 0, released: 0 };
    const { sandboxes, broken } = await this.d.files.list();
    for (const b of broken) this.d.log.error('network: unreadable sandbox file', { id: b.id, err: b.error });
    for (const s of sandboxes) {
      if (s.state === 'attached' && isRunning(s.id, s.ns) && (await this.d.netns.exists(s.id))) {
        this.live.set(s.id, s);
        this.d.names.set(s);
        for (const p of s.ports)
          await this.ports
            .reserve({ ip: p.hostIp, port: p.hostPort, proto: p.proto })
            .catch((e) => this.d.log.warn('network: cannot hold a published port again', { id: s.id, port: p, err: e as Error }));
        for (const e of s.endpoints) {
          const n = this.d.store.find(e.networkId);
          if (n) await this.d.dns.ensure(n);
        }
        out.kept++;
        continue;
      }
      this.live.set(s.id, s);
      await this.detach(s.id).then(
        () => out.released++,
        (e) => this.d.log.error('network: taking down a stale sandbox failed (retried at the next start)', { id: s.id, err: e as Error }),
      );
    }
    const keep = (id: string) => this.live.has(id) || broken.some((b) => b.id === id);
    for (const a of await this.d.runner.attachments()) {
      if (keep(a.containerId)) continue;
      const netns = (await this.d.netns.exists(a.containerId)) ? this.d.netns.path(a.containerId) : '';
      await this.d.runner
        .del(a.networkName, { containerId: a.containerId, ifName: a.ifName, netns })
        .catch((e) => this.d.log.error('network: DEL of a stale attachment failed', { id: a.containerId, err: e as Error }));
    }
    for (const id of await this.d.netns.list()) if (!keep(id)) await this.d.netns.remove(id);
    // DNAT rules on this berthd's bridges that no kept sandbox accounts for (a crash between
    // writing them and the sandbox file, an unreadable file).
    const bridges = new Set(this.d.store.all().map((n) => n.bridge));
    await this.d.published.sweep(keep, bridges).catch((e) => this.d.log.error('network: removing stale published-port rules failed', { err: e as Error }));
    return out;
  }

  close(): void {
    this.ports.closeAll();
  }
}

function missing(e: EndpointConfig): never {
  throw notFound(`network ${e.networkName} (${e.networkId.slice(0, 12)}) not found: it was removed after the container was created`);
}
