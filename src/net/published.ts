/**
 * Published ports as DNAT rules berth writes itself, Docker's way: one rule per mapping in the
 * nat chain that PREROUTING and OUTPUT jump to for local destinations (NetworkFirewall.published),
 * and one ACCEPT per container port in the filter chain FORWARD jumps to first (NetworkFirewall.
 * forward), so that connections from other hosts get through where FORWARD's policy is DROP (as
 * Docker's install leaves it); each container's rules added in one `iptables-restore --noflush`
 * and removed in one. The masquerades that make 127.0.0.1 and hairpin connections work are the
 * network's (iptables.ts).
 *
 * The CNI portmap plugin (1.1.1) did the same with ~19 iptables processes at ADD and ~18 at DEL,
 * a chain of its own per container and family (ip6tables too) made and deleted each time; on
 * nf_tables every deleting transaction waits for an RCU grace period (~10–25 ms here), so its DEL
 * took ~110 ms and its ADD ~40 where these take one process each.
 *
 * Each rule's comment names the bridge and the container, so that rules nobody accounts for any
 * more (a container that died while berthd was down, a crash between the rules and the sandbox
 * file) are found and removed, and only this berthd's (by its bridges) when chains are shared.
 */
import { writeFile, readFile } from 'node:fs/promises';
import { internal } from '../core/errors';
import type { Logger } from '../core/logger';
import { describeFailure, runTool, type ToolRunner } from './exec';
import { splitRule, type Iptables } from './iptables';

export interface Mapping {
  /** '0.0.0.0' = every address of the host. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

export interface Publication {
  bridge: string;
  containerId: string;
  /** The container's address on that bridge. */
  ip: string;
  mappings: readonly Mapping[];
}

/** A container's rules as `iptables-restore` lines without the -A/-D: what `add` writes and `remove` takes back. */
export interface PortRules {
  dnat: readonly string[];
  accepts: readonly string[];
}

const COMMENT_PREFIX = 'berth port ';
const comment = (bridge: string, containerId: string) => `${COMMENT_PREFIX}${bridge} ${containerId}`;
const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;

export class PublishedPorts {
  constructor(
    private readonly ipt: Iptables,
    /** The nat chain (NetworkFirewall.published). */
    readonly chain: string,
    /** The filter chain (NetworkFirewall.forward). */
    readonly forwardChain: string,
    private readonly o: {
      log?: Logger;
      /** conntrack(8), for forgetUdpFlows. */
      conntrack?: string;
      /** How it runs (berthd's: through its helper launcher). */
      run?: ToolRunner;
    } = {},
  ) {}

  /** The rules of one container, as `iptables-restore` lines without the -A/-D. */
  rules(p: Publication): string[] {
    const c = quote(comment(p.bridge, p.containerId));
    return p.mappings.map((m) => {
      const dst = m.hostIp === '0.0.0.0' ? '' : `-d ${m.hostIp}/32 `;
      return `${dst}-p ${m.proto} -m ${m.proto} --dport ${m.hostPort} -m comment --comment ${c} -j DNAT --to-destination ${p.ip}:${m.containerPort}`;
    });
  }

  /** The container's FORWARD accepts, one per container port and protocol, in the same form. */
  accepts(p: Publication): string[] {
    const c = quote(comment(p.bridge, p.containerId));
    const ports = new Set(p.mappings.map((m) => `-p ${m.proto} -m ${m.proto} --dport ${m.containerPort}`));
    return [...ports].map((match) => `-d ${p.ip}/32 ! -i ${p.bridge} -o ${p.bridge} ${match} -m comment --comment ${c} -j ACCEPT`);
  }

  ruleSet(p: Publication): PortRules {
    return { dnat: this.rules(p), accepts: this.accepts(p) };
  }

  /**
   * Adds the container's rules (`ruleSet(p)`, as the caller recorded them) in one transaction,
   * and lets the bridge route packets from the host's loopback (route_localnet: what makes a
   * port published on 127.0.0.1 reach it).
   */
  async add(p: Publication, rules: PortRules = this.ruleSet(p)): Promise<void> {
    if (!p.mappings.length) return;
    await routeLocalnet(p.bridge);
    await this.apply('-A', rules);
    await this.forgetUdpFlows(p.mappings);
  }

  /**
   * Deletes the conntrack entries of UDP flows to the newly published host ports, as Docker does.
   * NAT is decided at a flow's first packet only: a client that was already sending to the port
   * before the rule existed (its packets refused) keeps a flow that bypasses the DNAT for as long
   * as it keeps sending (each packet renews the 30 s timeout), and so never reaches the container.
   * TCP needs nothing: such a client's connection was refused and a new one starts a new flow.
   * Without conntrack(8) on the host this is skipped, with a warning.
   */
  private async forgetUdpFlows(mappings: readonly Mapping[]): Promise<void> {
    for (const m of mappings) {
      if (m.proto !== 'udp') continue;
      const args = ['-D', '-p', 'udp', '--orig-port-dst', String(m.hostPort), ...(m.hostIp === '0.0.0.0' ? [] : ['--orig-dst', m.hostIp])];
      const r = await (this.o.run ?? runTool)(this.o.conntrack ?? 'conntrack', args, { timeoutMs: 10_000 }).catch((e: Error) => e);
      // Exit 1 with "0 flow entries have been deleted" is the usual case: there were none.
      const err = r instanceof Error ? r.message : r.code !== 0 && !/\b0 flow entries/.test(r.stderr) ? describeFailure(r) : undefined;
      if (err) this.o.log?.warn('published UDP port: stale flows to it not deleted', { port: m.hostPort, err });
    }
  }

  /**
   * Removes rules `add` wrote (`rules` and `accepts`, as recorded); if any is not there (the
   * transaction then fails whole), every rule that names the container is removed instead.
   */
  async remove(containerId: string, rules: { dnat: readonly string[]; accepts?: readonly string[] }): Promise<void> {
    const r = { dnat: rules.dnat, accepts: rules.accepts ?? [] };
    if (!r.dnat.length && !r.accepts.length) return;
    if ((await this.ipt.restore(this.restoreInput('-D', r))).code === 0) return;
    await this.sweep((id) => id !== containerId);
  }

  /**
   * Removes the rules of containers `keep` does not keep, on the bridges given (all of them if
   * none are), in one transaction; returns how many.
   */
  async sweep(keep: (containerId: string) => boolean, bridges?: ReadonlySet<string>): Promise<number> {
    const stale = async (table: string, chain: string): Promise<string[]> => {
      const listed = await this.ipt.run(table, ['-S', chain]);
      if (listed.code !== 0) return []; // no chain: nothing published
      const out: string[] = [];
      for (const line of listed.stdout.split('\n')) {
        if (!line.startsWith(`-A ${chain} `)) continue;
        const args = splitRule(line);
        const c = args[args.indexOf('--comment') + 1] ?? '';
        if (!c.startsWith(COMMENT_PREFIX)) continue;
        const [bridge, id] = c.slice(COMMENT_PREFIX.length).split(' ');
        if (!id || keep(id) || (bridges && !bridges.has(bridge!))) continue;
        out.push(line.slice(`-A ${chain} `.length));
      }
      return out;
    };
    const rules = { dnat: await stale('nat', this.chain), accepts: await stale('filter', this.forwardChain) };
    const n = rules.dnat.length + rules.accepts.length;
    if (n) await this.apply('-D', rules);
    return n;
  }

  private async apply(op: '-A' | '-D', rules: PortRules): Promise<void> {
    const r = await this.ipt.restore(this.restoreInput(op, rules));
    if (r.code !== 0) throw internal(`iptables-restore (${op === '-A' ? 'publishing' : 'unpublishing'} ports in ${this.chain}): ${describeFailure(r)}`);
  }

  private restoreInput(op: '-A' | '-D', rules: PortRules): string {
    const table = (name: string, chain: string, rs: readonly string[]) =>
      rs.length ? `*${name}\n${rs.map((r) => `${op} ${chain} ${r}\n`).join('')}COMMIT\n` : '';
    return table('nat', this.chain, rules.dnat) + table('filter', this.forwardChain, rules.accepts);
  }
}

/** net.ipv4.conf.<bridge>.route_localnet=1, written only when it is not already. */
async function routeLocalnet(bridge: string): Promise<void> {
  const p = `/proc/sys/net/ipv4/conf/${bridge}/route_localnet`;
  if ((await readFile(p, 'utf8')).trim() !== '1') await writeFile(p, '1');
}
