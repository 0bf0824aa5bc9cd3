/**
 * The networks berthd made, one JSON record each under <root>/network/networks, with its CNI
 * config list under <root>/network/conflist (both written atomically). Lookups follow Docker: a
 * full id, then a name, then a unique id prefix. The default network is made on first use.
 * Mutations run one at a time; whether a network is in use is the caller's to say (the
 * container side knows), and removal is refused then.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { conflict, dataLoss, failedPrecondition, notFound } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { writeFileAtomic } from '../../core/node/files';
import { parseConfListText } from '../../net/cni/conflist';
import type { NetConfList } from '../../net/cni/types';
import type { BridgeRules, NetworkFirewall } from '../../net/iptables';
import { overlaps, parseCidr, type Cidr } from '../../net/ipv4';
import { legacyConfLists, networkConfList } from './conflist';
import { allocateSubnet, defineNetwork } from './define';
import { DEFAULT_NETWORK, type NetworkCreateOptions, type NetworkListOptions, type NetworkRecord } from './types';

const RecordSchema = z.object({
  version: z.literal(1),
  id: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().min(1),
  driver: z.literal('bridge'),
  created: z.string(),
  subnet: z.string(),
  gateway: z.string(),
  ipRange: z.string().optional(),
  bridge: z.string().min(1).max(15),
  ipMasquerade: z.boolean(),
  internal: z.boolean(),
  mtu: z.number().int(),
  labels: z.record(z.string(), z.string()),
  options: z.record(z.string(), z.string()),
  isDefault: z.boolean(),
});

export interface NetworkStoreOptions {
  /** <root>/network */
  dir: string;
  /** host-local's data dir (in the state dir: leases end with a reboot, as the namespaces do). */
  ipamDir: string;
  firewall: NetworkFirewall;
  /** Where new networks' subnets come from, in /24s (or the pool's own size if smaller). */
  pool: string;
  /** The default network's bridge and subnet. */
  defaultBridge: string;
  defaultSubnet: string;
  /** IPv4 destinations routed on the host (new subnets avoid them), but those through `exceptDev`. */
  hostRoutes: (exceptDev?: string) => Promise<Cidr[]>;
  linkExists: (name: string) => boolean;
  deleteLink: (name: string) => Promise<void>;
  log: Logger;
}

export class NetworkStore {
  private readonly byId = new Map<string, NetworkRecord>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: NetworkStoreOptions) {}

  private get recordsDir(): string {
    return join(this.o.dir, 'networks');
  }

  confListPath(n: Pick<NetworkRecord, 'name'>): string {
    return join(this.o.dir, 'conflist', `${n.name}.conflist`);
  }

  /**
   * Reads the records; re-adds every network's rules (a reboot or an iptables flush lost them);
   * rewrites the config lists an older berthd wrote that nobody edited since.
   */
  async load(): Promise<void> {
    let names: string[] = [];
    try {
      names = await readdir(this.recordsDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const f of names.filter((n) => n.endsWith('.json'))) {
      const p = join(this.recordsDir, f);
      try {
        const r = RecordSchema.parse(JSON.parse(await readFile(p, 'utf8'))) as NetworkRecord;
        this.byId.set(r.id, r);
      } catch (e) {
        this.o.log.error('network: unreadable record (ignored)', { path: p, err: dataLoss(`network record ${p}`, { cause: e }) });
      }
    }
    for (const r of this.byId.values()) {
      await this.o.firewall.add(bridgeRules(r));
      await this.upgradeConfList(r);
    }
  }

  private async upgradeConfList(rec: NetworkRecord): Promise<void> {
    const p = this.confListPath(rec);
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // confList() writes it when needed
      throw e;
    }
    let old: unknown;
    try {
      old = JSON.parse(text);
    } catch {
      return; // the admin's to fix: confList() reports it at the next ADD
    }
    if (!this.legacyLists(rec).some((l) => isDeepStrictEqual(old, l))) return;
    await writeFileAtomic(p, `${JSON.stringify(this.defaultConfList(rec), null, 2)}\n`, { mode: 0o600, durable: true });
    this.o.log.info("network: an older berthd's config list rewritten (berth's own rules instead of the firewall and portmap plugins)", { network: rec.name });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  all(): NetworkRecord[] {
    return [...this.byId.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** By full id, name, or unique id prefix; undefined when nothing matches. */
  find(ref: string): NetworkRecord | undefined {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const named = this.all().find((n) => n.name === ref);
    if (named) return named;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const byPrefix = this.all().filter((n) => n.id.startsWith(ref));
    if (byPrefix.length > 1) throw conflict(`network ${ref} is ambiguous (${byPrefix.length} networks have ids starting with it)`);
    return byPrefix[0];
  }

  get(ref: string): NetworkRecord {
    const n = ref === DEFAULT_NETWORK ? this.defaultNetwork() : this.find(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  }

  defaultNetwork(): NetworkRecord | undefined {
    return this.all().find((n) => n.isDefault);
  }

  list(o: NetworkListOptions = {}, inUse: (id: string) => boolean = () => false): NetworkRecord[] {
    const f = o.filters ?? {};
    return this.all().filter((n) => {
      if (f.name && !f.name.some((v) => n.name.includes(v))) return false;
      if (f.id && !f.id.some((v) => n.id.startsWith(v))) return false;
      if (f.driver && !f.driver.includes(n.driver)) return false;
      if (f.type && !f.type.includes(n.isDefault ? 'builtin' : 'custom')) return false;
      if (f.label && !f.label.every((l) => matchLabel(n.labels, l))) return false;
      if (f.dangling && !f.dangling.some((v) => (v === 'true' || v === '1') === (!n.isDefault && !inUse(n.id)))) return false;
      return true;
    });
  }

  private async taken(forDefault = false): Promise<{ cidrs: Array<{ cidr: Cidr; what: string }>; bridges: Set<string> }> {
    const nets = this.all().map((n) => ({ cidr: parseCidr(n.subnet), what: `network ${n.name}` }));
    // Kept for the default network until it exists (it is made on first use).
    if (!forDefault && !this.defaultNetwork()) nets.push({ cidr: parseCidr(this.o.defaultSubnet, 'default subnet'), what: 'the default network' });
    // The default bridge an earlier berthd left (bridges stay, as docker0 does) does not take the default subnet from the next one.
    const routes = (await this.o.hostRoutes(forDefault ? this.o.defaultBridge : undefined)).map((cidr) => ({ cidr, what: 'a route on this host' }));
    return { cidrs: [...nets, ...routes], bridges: new Set(this.all().map((n) => n.bridge)) };
  }

  create(opts: NetworkCreateOptions): Promise<NetworkRecord> {
    return this.serial(async () => {
      if (this.all().some((n) => n.name === opts.name)) throw conflict(`network with name ${opts.name} already exists`);
      return this.define(opts);
    });
  }

  /** The default network, made now if it is not there yet. */
  ensureDefault(): Promise<NetworkRecord> {
    const have = this.defaultNetwork();
    if (have) return Promise.resolve(have);
    return this.serial(async () => {
      const again = this.defaultNetwork();
      if (again) return again;
      const { cidrs } = await this.taken(true);
      const wanted = parseCidr(this.o.defaultSubnet, 'default subnet');
      const free = !cidrs.some((t) => overlaps(t.cidr, wanted));
      return this.define({ name: DEFAULT_NETWORK, ...(free ? { subnet: this.o.defaultSubnet } : {}) }, { isDefault: true, bridge: this.o.defaultBridge });
    });
  }

  private async define(opts: NetworkCreateOptions, extra: { isDefault?: boolean; bridge?: string } = {}): Promise<NetworkRecord> {
    const { cidrs, bridges } = await this.taken(extra.isDefault);
    const pool = parseCidr(this.o.pool, 'network pool');
    const rec = defineNetwork(
      opts,
      {
        taken: cidrs,
        bridges,
        linkExists: this.o.linkExists,
        allocate: () => {
          const c = allocateSubnet(
            pool,
            Math.max(24, pool.len),
            cidrs.map((t) => t.cidr),
          );
          if (!c) throw failedPrecondition(`no free subnet left in the pool ${this.o.pool}: remove unused networks (network prune) or give --subnet`);
          return c;
        },
      },
      extra,
    );
    await this.write(rec);
    try {
      await this.o.firewall.add(bridgeRules(rec));
    } catch (e) {
      await this.erase(rec);
      throw e;
    }
    this.byId.set(rec.id, rec);
    return rec;
  }

  private async write(rec: NetworkRecord): Promise<void> {
    await mkdir(this.recordsDir, { recursive: true, mode: 0o700 });
    await mkdir(join(this.o.dir, 'conflist'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.confListPath(rec), `${JSON.stringify(this.defaultConfList(rec), null, 2)}\n`, { mode: 0o600, durable: true });
    await writeFileAtomic(join(this.recordsDir, `${rec.id}.json`), JSON.stringify(rec), { mode: 0o600, durable: true });
  }

  private async erase(rec: NetworkRecord): Promise<void> {
    await rm(join(this.recordsDir, `${rec.id}.json`), { force: true });
    await rm(this.confListPath(rec), { force: true });
  }

  defaultConfList(rec: NetworkRecord): NetConfList {
    return networkConfList(rec, { ipamDir: this.o.ipamDir, adminChain: this.o.firewall.stage1 });
  }

  private legacyLists(rec: NetworkRecord): NetConfList[] {
    return legacyConfLists(rec, { ipamDir: this.o.ipamDir, adminChain: this.o.firewall.stage1 });
  }

  /** The network's config list as berthd will run it (the file; written again if it went missing). */
  async confList(rec: NetworkRecord): Promise<NetConfList> {
    const p = this.confListPath(rec);
    try {
      const list = parseConfListText(await readFile(p, 'utf8'), p);
      if (list.name !== rec.name) throw failedPrecondition(`CNI config ${p}: its name is ${list.name}, not ${rec.name}`);
      return list;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const list = this.defaultConfList(rec);
      await writeFileAtomic(p, `${JSON.stringify(list, null, 2)}\n`, { mode: 0o600 });
      return list;
    }
  }

  /**
   * Removes a network nothing uses: its iptables rules, its bridge, host-local's leases dir,
   * its files. `inUse` is asked inside the store's lock.
   */
  remove(ref: string, inUse: (id: string) => boolean): Promise<NetworkRecord> {
    return this.serial(async () => {
      const rec = this.get(ref);
      if (rec.isDefault) throw failedPrecondition(`${rec.name} is a pre-defined network and cannot be removed`);
      if (inUse(rec.id)) throw failedPrecondition(`error while removing network: network ${rec.name} id ${rec.id} has active endpoints`);
      this.byId.delete(rec.id);
      await this.o.firewall.remove(bridgeRules(rec));
      await this.o.deleteLink(rec.bridge);
      await rm(join(this.o.ipamDir, rec.name), { recursive: true, force: true });
      await this.erase(rec);
      return rec;
    });
  }
}

export function bridgeRules(r: NetworkRecord): BridgeRules {
  return { bridge: r.bridge, subnet: r.subnet, internal: r.internal, masquerade: r.ipMasquerade, label: r.name };
}

/** `k` or `k=v` against labels. */
export function matchLabel(labels: Record<string, string>, f: string): boolean {
  const i = f.indexOf('=');
  return i < 0 ? f in labels : labels[f.slice(0, i)] === f.slice(i + 1);
}
