/**
 * berth's own iptables rules, per network rather than per container (Docker's model): the
 * forward accepts and the masquerade a bridge network needs, and isolation between berth's
 * networks (Docker's two-stage DOCKER-ISOLATION chains, which no standard CNI plugin provides).
 * Per-container rules (the firewall plugin, the bridge plugin's ipMasq) cost a few iptables
 * processes at every ADD and DEL; these are written once, when the network is made.
 *
 *   FORWARD   -j <F>                        (inserted first)
 *   <F>       -j <stage 1>                  isolation before any accept
 *             -o B -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
 *             -i B -j ACCEPT                what B's containers send
 *   stage 1   -i B ! -o B -j <stage 2>      traffic leaving bridge B for elsewhere
 *             -i I ! -o I -j DROP           an internal network: nothing out …
 *             -o I ! -i I -j DROP           … and nothing in
 *   stage 2   -o B -j DROP                  … that elsewhere being another berth bridge
 *   nat POSTROUTING -j <M>
 *   <M>       -s SUBNET ! -o B ! -d 224.0.0.0/4 -j MASQUERADE   (masquerading networks)
 *             -s 127.0.0.0/8 -o B -j MASQUERADE                 a published port reached on 127.0.0.1 (route_localnet)
 *             -s SUBNET -o B --ctstate DNAT -j MASQUERADE       … or by a container of B itself (hairpin)
 *   nat PREROUTING, OUTPUT -m addrtype --dst-type LOCAL -j <P>  each container's published ports (net/published.ts)
 *   raw PREROUTING -j <L>
 *   <L>       -i B -d 127.0.0.0/8 -j DROP   nothing from B for the host's loopback: route_localnet, which
 *                                          a port published on 127.0.0.1 needs, would let B's containers
 *                                          reach services the host keeps on 127.0.0.1 (CVE-2020-8558)
 *
 * Each rule carries a comment naming its network, and is added or deleted only by itself: a
 * chain that another berthd shares (the same prefix) is never flushed while in use.
 */
import { internal, invalidArgument } from '../core/errors';
import { describeFailure, runTool, type ToolRun } from './exec';

/** iptables-nft or legacy, whichever `iptables` is (the plugins use the same). */
export class Iptables {
  constructor(private readonly bin = 'iptables') {}

  /** `iptables -w -t table args`. */
  run(table: string, args: readonly string[]): Promise<ToolRun> {
    return runTool(this.bin, ['-w', '-t', table, ...args], { timeoutMs: 30_000 });
  }

  /**
   * `iptables-restore -w --noflush` of `input` (tables, rules, COMMIT): every rule of a table in
   * one transaction, one process for them all. A rule that cannot be added or deleted fails it all.
   */
  restore(input: string): Promise<ToolRun> {
    return runTool(`${this.bin}-restore`, ['-w', '--noflush'], { input, timeoutMs: 30_000 });
  }

  private async must(table: string, args: readonly string[]): Promise<void> {
    const r = await this.run(table, args);
    if (r.code !== 0) throw internal(`iptables -t ${table} ${args.join(' ')}: ${describeFailure(r)}`);
  }

  async chainExists(table: string, chain: string): Promise<boolean> {
    return (await this.run(table, ['-n', '-L', chain])).code === 0;
  }

  async ensureChain(table: string, chain: string): Promise<void> {
    if (await this.chainExists(table, chain)) return;
    const r = await this.run(table, ['-N', chain]);
    if (r.code !== 0 && !(await this.chainExists(table, chain))) throw internal(`iptables -t ${table} -N ${chain}: ${describeFailure(r)}`);
  }

  async has(table: string, chain: string, rule: readonly string[]): Promise<boolean> {
    return (await this.run(table, ['-C', chain, ...rule])).code === 0;
  }

  /** Appends the rule unless it is there. */
  async ensure(table: string, chain: string, rule: readonly string[]): Promise<void> {
    if (!(await this.has(table, chain, rule))) await this.must(table, ['-A', chain, ...rule]);
  }

  /** Inserts the rule first in the chain unless it is there. */
  async ensureFirst(table: string, chain: string, rule: readonly string[]): Promise<void> {
    if (!(await this.has(table, chain, rule))) await this.must(table, ['-I', chain, '1', ...rule]);
  }

  /** Deletes every copy of the rule. */
  async remove(table: string, chain: string, rule: readonly string[]): Promise<void> {
    while (await this.has(table, chain, rule)) await this.must(table, ['-D', chain, ...rule]);
  }

  /** Flushes and deletes a chain nothing jumps to any more. */
  async removeChain(table: string, chain: string): Promise<void> {
    if (!(await this.chainExists(table, chain))) return;
    await this.must(table, ['-F', chain]);
    await this.must(table, ['-X', chain]);
  }
}

export interface BridgeRules {
  /** The bridge device. */
  bridge: string;
  /** Its subnet (the masquerade's source). */
  subnet: string;
  internal: boolean;
  masquerade: boolean;
  /** Names the network in the rules' comments. */
  label: string;
}

const PREFIX = /^[A-Z0-9][A-Z0-9_-]{0,25}$/;
/** The firewall plugin's chain that jumped to stage 1 (networks made before berth wrote its own accepts). */
export const CNI_FORWARD_CHAIN = 'CNI-FORWARD';
const FILTER = 'filter';
const NAT = 'nat';
const RAW = 'raw';
/** Where published ports are matched: packets arriving for this host, and the host's own. */
const PUBLISH_HOOKS = ['PREROUTING', 'OUTPUT'];
const LOCAL_DST = ['-m', 'addrtype', '--dst-type', 'LOCAL'];

interface Rule {
  table: string;
  chain: string;
  rule: string[];
}

export class NetworkFirewall {
  readonly stage1: string;
  readonly stage2: string;
  /** The filter chain FORWARD jumps to: isolation, then the accepts. */
  readonly forward: string;
  /** The nat chain POSTROUTING jumps to: the masquerades. */
  readonly masquerade: string;
  /** The nat chain PREROUTING and OUTPUT jump to for local destinations: published ports' DNAT. */
  readonly published: string;
  /** The raw chain PREROUTING jumps to: what a bridge may not send to the host's loopback. */
  readonly loopbackGuard: string;

  constructor(
    readonly ipt: Iptables,
    prefix = 'BERTH-ISOLATION',
  ) {
    if (!PREFIX.test(prefix)) throw invalidArgument(`iptables chain prefix ${JSON.stringify(prefix)}: A-Z, 0-9, _ and -, at most 26`);
    this.stage1 = `${prefix}-1`;
    this.stage2 = `${prefix}-2`;
    this.forward = `${prefix}-F`;
    this.masquerade = `${prefix}-M`;
    this.published = `${prefix}-P`;
    this.loopbackGuard = `${prefix}-L`;
  }

  private rules(b: BridgeRules): Rule[] {
    const c = ['-m', 'comment', '--comment', `berth network ${b.label}`];
    const out: Rule[] = b.internal
      ? [
          { table: FILTER, chain: this.stage1, rule: ['-i', b.bridge, '!', '-o', b.bridge, ...c, '-j', 'DROP'] },
          { table: FILTER, chain: this.stage1, rule: ['-o', b.bridge, '!', '-i', b.bridge, ...c, '-j', 'DROP'] },
        ]
      : [
          { table: FILTER, chain: this.stage1, rule: ['-i', b.bridge, '!', '-o', b.bridge, ...c, '-j', this.stage2] },
          { table: FILTER, chain: this.stage2, rule: ['-o', b.bridge, ...c, '-j', 'DROP'] },
        ];
    out.push(
      { table: FILTER, chain: this.forward, rule: ['-o', b.bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', ...c, '-j', 'ACCEPT'] },
      { table: FILTER, chain: this.forward, rule: ['-i', b.bridge, ...c, '-j', 'ACCEPT'] },
    );
    if (b.masquerade && !b.internal)
      out.push({ table: NAT, chain: this.masquerade, rule: ['-s', b.subnet, '!', '-o', b.bridge, '!', '-d', '224.0.0.0/4', ...c, '-j', 'MASQUERADE'] });
    // Published ports (only on routed networks): the replies must come back through the host's
    // conntrack, so connections from the host's loopback and from B itself leave as the gateway.
    if (!b.internal)
      out.push(
        { table: NAT, chain: this.masquerade, rule: ['-s', '127.0.0.0/8', '-o', b.bridge, ...c, '-j', 'MASQUERADE'] },
        { table: NAT, chain: this.masquerade, rule: ['-s', b.subnet, '-o', b.bridge, '-m', 'conntrack', '--ctstate', 'DNAT', ...c, '-j', 'MASQUERADE'] },
        { table: RAW, chain: this.loopbackGuard, rule: ['-i', b.bridge, '-d', '127.0.0.0/8', ...c, '-j', 'DROP'] },
      );
    return out;
  }

  /** The chains and the jumps into them (isolation first in the forward chain, whatever was there). */
  private async install(): Promise<void> {
    for (const ch of [this.stage2, this.stage1, this.forward]) await this.ipt.ensureChain(FILTER, ch);
    await this.ipt.ensureChain(NAT, this.masquerade);
    await this.ipt.ensureChain(NAT, this.published);
    await this.ipt.ensureChain(RAW, this.loopbackGuard);
    await this.ipt.ensureFirst(FILTER, this.forward, ['-j', this.stage1]);
    await this.ipt.ensureFirst(FILTER, 'FORWARD', ['-j', this.forward]);
    await this.ipt.ensure(NAT, 'POSTROUTING', ['-j', this.masquerade]);
    for (const ch of PUBLISH_HOOKS) await this.ipt.ensure(NAT, ch, [...LOCAL_DST, '-j', this.published]);
    await this.ipt.ensure(RAW, 'PREROUTING', ['-j', this.loopbackGuard]);
  }

  /** Adds a network's rules (idempotent; at network create and at every berthd start). */
  async add(b: BridgeRules): Promise<void> {
    await this.install();
    for (const r of this.rules(b)) await this.ipt.ensure(r.table, r.chain, r.rule);
  }

  async remove(b: BridgeRules): Promise<void> {
    for (const r of this.rules(b)) if (await this.ipt.chainExists(r.table, r.chain)) await this.ipt.remove(r.table, r.chain, r.rule);
  }

  /**
   * Removes the chains and the jumps to them (for tests and for a host that drops berth;
   * berthd itself never does this while it runs).
   */
  async uninstall(): Promise<void> {
    if (await this.ipt.chainExists(FILTER, CNI_FORWARD_CHAIN))
      await this.ipt.remove(FILTER, CNI_FORWARD_CHAIN, ['-m', 'comment', '--comment', 'CNI firewall plugin admin overrides', '-j', this.stage1]);
    await this.ipt.remove(FILTER, 'FORWARD', ['-j', this.forward]);
    await this.ipt.remove(NAT, 'POSTROUTING', ['-j', this.masquerade]);
    for (const ch of PUBLISH_HOOKS) await this.ipt.remove(NAT, ch, [...LOCAL_DST, '-j', this.published]);
    for (const ch of [this.forward, this.stage1, this.stage2]) await this.ipt.removeChain(FILTER, ch);
    for (const ch of [this.masquerade, this.published]) await this.ipt.removeChain(NAT, ch);
    await this.ipt.remove(RAW, 'PREROUTING', ['-j', this.loopbackGuard]);
    await this.ipt.removeChain(RAW, this.loopbackGuard);
  }
}

/** Splits a rule as `iptables -S` prints it (double quotes, backslash escapes) into arguments. */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '\\' && i + 1 < line.length) cur += line[++i];
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') {
      quoted = inWord = true;
    } else if (ch === ' ') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/**
 * Removes the bridge plugin's masquerade rules of one attachment if its DEL left them: the
 * plugin (1.1.1 and upstream alike) tears them down only when it finds the interface in the
 * namespace, so an interface deleted from inside the container leaves its POSTROUTING jump and
 * chain behind. They are found by the comment the plugin gives them.
 */
export async function sweepMasquerade(ipt: Iptables, network: string, containerId: string): Promise<number> {
  const r = await ipt.run('nat', ['-S', 'POSTROUTING']);
  if (r.code !== 0) return 0;
  const comment = `name: "${network}" id: "${containerId}"`;
  let removed = 0;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('-A POSTROUTING ')) continue;
    const args = splitRule(line);
    const c = args.indexOf('--comment');
    if (c < 0 || args[c + 1] !== comment) continue;
    const j = args.indexOf('-j');
    const chain = j >= 0 ? args[j + 1] : undefined;
    await ipt.remove('nat', 'POSTROUTING', args.slice(2));
    if (chain?.startsWith('CNI-')) await ipt.removeChain('nat', chain);
    removed++;
  }
  return removed;
}
