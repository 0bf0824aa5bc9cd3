/**
 * A NetworkManager of its own per test file: temp root/state, an address pool no route on this
 * host touches, a default bridge and isolation chains named for this process, DNS forwarding
 * only to a fake upstream on loopback. "Containers" are processes (busybox) in the sandboxes'
 * namespaces; teardown takes everything back and checks nothing is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, nullLogger, type Logger } from '../../src/core/logger';
import { NetworkManager, type NetworkManagerOptions } from '../../src/engine/network';
import type { ContainerNetConfig, NetworkRequest } from '../../src/engine/network';
import { bridgeRules } from '../../src/engine/network/store';
import { deleteLink } from '../../src/net/links';
import { freePool, HostBaseline, inNetns, saveIpForward, uniqueName } from '../helpers/net';

export class NetFixture {
  dir = '';
  m!: NetworkManager;
  pool = '';
  readonly defaultBridge = uniqueName('bdef');
  readonly chain = uniqueName('BT', 20).toUpperCase();
  private restoreForward: () => void = () => undefined;
  private host: HostBaseline | undefined;
  private procs: ChildProcess[] = [];
  private opts: Partial<NetworkManagerOptions> = {};
  readonly managers: NetworkManager[] = [];
  log: Logger = process.env.BERTH_TEST_LOG ? createLogger('debug', {}, (l) => process.stderr.write(`${l}\n`)) : nullLogger;

  options(): NetworkManagerOptions {
    const [a, b] = this.pool.split('.');
    return {
      root: join(this.dir, 'root'),
      state: join(this.dir, 'state'),
      pool: this.pool,
      defaultSubnet: `${a}.${b}.0.0/24`,
      defaultBridge: this.defaultBridge,
      isolationChain: this.chain,
      defaultPublishAddress: '127.0.0.1',
      dnsPort: 53,
      dnsUpstreams: [],
      resolvConf: join(this.dir, 'resolv.conf'),
      log: this.log,
      ...this.opts,
    };
  }

  async setup(opts: Partial<NetworkManagerOptions> = {}): Promise<void> {
    this.opts = opts;
    this.restoreForward = saveIpForward();
    this.host = new HostBaseline();
    this.dir = mkdtempSync(join(tmpdir(), 'berth-net-'));
    this.pool = freePool();
    writeFileSync(join(this.dir, 'resolv.conf'), 'nameserver 127.0.0.1\nsearch test.invalid\n');
    this.m = await this.manager();
  }

  /** Another manager on the same dirs: berthd after a restart. */
  async manager(): Promise<NetworkManager> {
    const m = new NetworkManager(this.options());
    await m.open();
    await m.restore(() => false);
    this.managers.push(m);
    return m;
  }

  prepare(req: NetworkRequest, exposedPorts: string[] = []): Promise<ContainerNetConfig> {
    return this.m.prepare(req, { exposedPorts, resolveContainer: async (r) => r }).then((p) => p.config);
  }

  /** A process in a namespace (killed at teardown). */
  spawnIn(netns: string, cmd: string[]): ChildProcess {
    const p = spawn('nsenter', [`--net=${netns}`, ...cmd], { stdio: 'ignore' });
    this.procs.push(p);
    return p;
  }

  run(netns: string, cmd: string[], timeoutMs = 10_000) {
    return inNetns(netns, cmd, timeoutMs);
  }

  /** Leases, veths and iptables rules this test added and did not take back. */
  leftovers(): { leases: string[]; veths: string[]; rules: string[] } {
    // The networks' own rules (isolation, accepts, masquerade, the published ports' chain, the loopback guard) stay while the networks do; a container's DNAT rules do not.
    const networks = (l: string) =>
      ['-1', '-2', '-F', '-M', '-P', '-L'].some((s) => l.includes(`${this.chain}${s}`)) && !l.includes(' -j DNAT ') && !l.includes('"berth port ');
    return this.host!.leftovers(join(this.dir, 'state', 'network', 'ipam'), networks);
  }

  async teardown(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    const m = this.managers[this.managers.length - 1] ?? this.m;
    try {
      if (m) {
        await m.restore(() => false); // takes every sandbox down
        for (const n of m.listNetworks()) if (!n.isDefault) await m.removeNetwork(n.id).catch(() => undefined);
        const def = m.store.defaultNetwork();
        if (def) await m.firewall.remove(bridgeRules(def));
        await deleteLink(this.defaultBridge);
        await m.firewall.uninstall();
      }
    } finally {
      for (const x of this.managers) await x.close();
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
      this.restoreForward();
    }
  }
}
