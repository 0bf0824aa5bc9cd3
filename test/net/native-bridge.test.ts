/**
 * berthd's own config lists attached without the CNI plugins (src/net/cni/native-bridge.ts,
 * native/veth), beside Debian's real bridge and host-local plugins on real network namespaces:
 * the same interfaces, addresses, routes and result shape; either side DELs what the other added;
 * a failed ADD is undone; an edited list still goes to the plugins.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { runTool, type ToolRunner } from '../../src/net/exec';
import { defaultVethBin, macFor } from '../../src/net/cni/native-bridge';
import { containerAddresses, hostInterfaces } from '../../src/net/cni/result';
import { CniRunner, DEFAULT_PLUGIN_DIRS } from '../../src/net/cni/runner';
import type { CniResult, NetConfList } from '../../src/net/cni/types';
import { deleteLink } from '../../src/net/links';
import { NetnsDir } from '../../src/net/netns';
import { freePool, inNetns, leases, portsOf, requireCni, saveIpForward, uniqueName } from '../helpers/net';
import { describeWith, requirement, requireTool } from '../helpers/requires';
import { until } from '../helpers/until';

const veth = defaultVethBin();

describeWith(
  ...requireCni(),
  requireTool('busybox'),
  requirement('berth-veth', veth ? undefined : 'native/build/berth-veth is not built: make -C native'),
)("berthd's own bridge lists without the plugins", () => {
  let dir: string;
  let netns: NetnsDir;
  let restoreForward: () => void;
  const bridge = uniqueName('bnb');
  const network = uniqueName('natbr', 40);
  const pool = freePool().replace(/0\.0\/16$/, '9.0/24');
  const prefix = pool.replace(/0\/24$/, '');
  const gateway = `${prefix}1`;
  const ran: string[] = [];
  const run: ToolRunner = (file, args, o) => {
    ran.push(basename(file));
    return runTool(file, args, o);
  };

  const list = (extra: Record<string, unknown> = {}, name = network, br = bridge): NetConfList => ({
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge',
        bridge: br,
        isGateway: true,
        isDefaultGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: pool, gateway }]] },
        ...extra,
      },
    ],
  });
  const native = () => new CniRunner({ pluginDirs: DEFAULT_PLUGIN_DIRS, cacheDir: join(dir, 'cache'), veth, run });
  const plugins = () => new CniRunner({ pluginDirs: DEFAULT_PLUGIN_DIRS, cacheDir: join(dir, 'cache'), run });
  const ipOf = (r: CniResult) => containerAddresses(r)[0]!.ip;
  const hostEnd = (r: CniResult) => hostInterfaces(r).find((n) => n !== bridge)!;
  /** What a result says, without the names and addresses that differ between two attachments. */
  const shape = (r: CniResult) => ({
    keys: Object.keys(r).sort(),
    interfaces: (r.interfaces as Array<Record<string, unknown>>).map((i) => ({ inside: i.sandbox !== undefined, mac: /^[0-9a-f:]{17}$/.test(String(i.mac)) })),
    ips: (r.ips as Array<Record<string, unknown>>).map((i) => ({ interface: i.interface, gateway: i.gateway, prefix: String(i.address).split('/')[1] })),
    routes: r.routes,
  });

  beforeAll(() => {
    restoreForward = saveIpForward();
    dir = mkdtempSync(join(tmpdir(), 'berth-natbr-'));
    netns = new NetnsDir(join(dir, 'netns'));
  });
  beforeEach(() => {
    ran.length = 0;
  });
  afterAll(async () => {
    const r = native();
    for (const a of await r.attachments()) await r.del(a.networkName, { containerId: a.containerId, ifName: a.ifName, netns: a.netns }).catch(() => undefined);
    for (const n of await netns.list()) await netns.remove(n);
    await deleteLink(bridge);
    rmSync(dir, { recursive: true, force: true });
    restoreForward();
  });

  it("ADD makes what the bridge plugin makes: eth0 with its address, MAC and default route, the host end on the bridge in hairpin mode, the gateway on the bridge, and a result of the plugin's shape", async () => {
    const ns1 = await netns.create('n1');
    const ns2 = await netns.create('p1');
    const a = await native().add(list(), { containerId: 'n1', netns: ns1, ifName: 'eth0' });
    expect(ran).toEqual(['berth-veth']);
    ran.length = 0;
    const b = await plugins().add(list(), { containerId: 'p1', netns: ns2, ifName: 'eth0' });
    expect(ran).toEqual(['bridge']);
    expect(shape(a)).toEqual(shape(b));
    expect(ipOf(a)).toBe(`${prefix}2`);
    // One store: the plugin's host-local went on after the address berthd gave last.
    expect(ipOf(b)).toBe(`${prefix}3`);
    expect(containerAddresses(a)[0]).toMatchObject({ prefixLen: 24, gateway, ifName: 'eth0', sandbox: ns1, mac: macFor(ipOf(a)) });
    expect((await inNetns(ns1, ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout).toContain(`inet ${ipOf(a)}/24 brd ${prefix}255`);
    expect((await inNetns(ns1, ['ip', '-o', 'link', 'show', 'eth0'])).stdout).toMatch(new RegExp(`state UP .*link/ether ${macFor(ipOf(a))}`));
    expect((await inNetns(ns1, ['ip', 'route'])).stdout).toContain(`default via ${gateway} dev eth0`);
    expect(portsOf(bridge).sort()).toEqual([hostEnd(a), hostEnd(b)].sort());
    expect(readFileSync(`/sys/class/net/${hostEnd(a)}/brport/hairpin_mode`, 'utf8').trim()).toBe('1');
    expect(readFileSync(`/sys/class/net/${hostEnd(a)}/operstate`, 'utf8').trim()).toBe('up');
    expect(execFileSync('ip', ['-4', '-o', 'addr', 'show', bridge], { encoding: 'utf8' })).toContain(`inet ${gateway}/24`);
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1');
    // The container reaches the host through the bridge.
    expect((await inNetns(ns1, ['busybox', 'ping', '-c', '1', '-W', '2', gateway])).stdout).toContain('1 packets received');
    expect(leases(join(dir, 'ipam')).sort()).toEqual([`${network}/${ipOf(a)}`, `${network}/${ipOf(b)}`]);
  });

  it('either side DELs what the other added: the cache says what was added, the address files are host-local’s', async () => {
    const ns1 = netns.path('n1');
    const ns2 = netns.path('p1');
    await plugins().del(network, { containerId: 'n1', ifName: 'eth0', netns: ns1 });
    expect(ran).toEqual(['bridge']);
    ran.length = 0;
    await native().del(network, { containerId: 'p1', ifName: 'eth0', netns: ns2 });
    expect(ran).toEqual(['berth-veth']);
    for (const ns of [ns1, ns2]) expect((await inNetns(ns, ['ip', '-o', 'link', 'show'])).stdout).not.toContain('eth0');
    expect(portsOf(bridge)).toEqual([]);
    expect(leases(join(dir, 'ipam'))).toEqual([]);
    expect(existsSync(native().cache.path(network, 'n1', 'eth0'))).toBe(false);
    // DEL again: idempotent, and with the namespace unmounted too.
    await netns.remove('n1');
    await native().del(network, { containerId: 'n1', ifName: 'eth0', netns: ns1 });
    await netns.remove('p1');
  });

  it('a DEL after the namespace is gone runs no program: the veth went with the namespace, the address is released', async () => {
    const ns = await netns.create('g1');
    const r = await native().add(list(), { containerId: 'g1', netns: ns, ifName: 'eth0' });
    await netns.remove('g1');
    await until('the veth gone with the namespace', () => !portsOf(bridge).includes(hostEnd(r)));
    ran.length = 0;
    await native().del(network, { containerId: 'g1', ifName: 'eth0', netns: '' });
    expect(ran).toEqual([]);
    expect(leases(join(dir, 'ipam'))).toEqual([]);
    expect(existsSync(native().cache.path(network, 'g1', 'eth0'))).toBe(false);
  });

  it("deleteBridgePorts takes a veth's host end (and its peer) down at once; a link that is no bridge port is left alone", async () => {
    const ns = await netns.create('d1');
    const r = await native().add(list(), { containerId: 'd1', netns: ns, ifName: 'eth0' });
    const end = hostEnd(r);
    await native().deleteBridgePorts([end]);
    expect(existsSync(`/sys/class/net/${end}`)).toBe(false);
    expect((await inNetns(ns, ['ip', '-o', 'link', 'show'])).stdout).not.toContain('eth0');
    const other = uniqueName('bnq');
    execFileSync('ip', ['link', 'add', other, 'type', 'veth', 'peer', 'name', uniqueName('bnr')]);
    try {
      const e = await native()
        .deleteBridgePorts([other])!
        .catch((x: unknown) => x as Error);
      expect(e?.message).toContain(`${other} is not a bridge port`);
      expect(existsSync(`/sys/class/net/${other}`)).toBe(true);
    } finally {
      await deleteLink(other);
    }
    // Without berth-veth the runner offers nothing: the kernel takes the veths down with the namespace.
    expect(plugins().deleteBridgePorts([end])).toBeUndefined();
    await native().del(network, { containerId: 'd1', ifName: 'eth0', netns: ns });
    await netns.remove('d1');
    expect(leases(join(dir, 'ipam'))).toEqual([]);
  });

  it('a failed ADD is undone: an interface name the namespace has already; a bridge name another kind of link has', async () => {
    const ns = await netns.create('f1');
    expect((await inNetns(ns, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0'])).code).toBe(0);
    const before = portsOf(bridge);
    const e1 = await native()
      .add(list(), { containerId: 'f1', netns: ns, ifName: 'eth0' })
      .catch((e) => e);
    expect(e1.message).toContain(`network ${network}: berth-veth add`);
    expect(e1.message).toContain('eth0 already exists in the namespace');
    expect(portsOf(bridge)).toEqual(before);
    expect(leases(join(dir, 'ipam'))).toEqual([]);
    expect(existsSync(native().cache.path(network, 'f1', 'eth0'))).toBe(false);

    const dummy = uniqueName('bnd');
    execFileSync('ip', ['link', 'add', dummy, 'type', 'veth', 'peer', 'name', uniqueName('bnp')]);
    try {
      const e2 = await native()
        .add(list({}, network, dummy), { containerId: 'f1', netns: ns, ifName: 'eth1' })
        .catch((e) => e);
      expect(e2.message).toContain(`${dummy} exists but is not a bridge`);
      expect(leases(join(dir, 'ipam'))).toEqual([]);
      expect((await inNetns(ns, ['ip', '-o', 'link', 'show'])).stdout).not.toContain('eth1');
    } finally {
      await deleteLink(dummy);
    }
    await netns.remove('f1');
  });

  it('a list an admin edited goes to the plugins', async () => {
    const ns = await netns.create('e1');
    const r = await native().add(list({ promiscMode: false }), { containerId: 'e1', netns: ns, ifName: 'eth0' });
    expect(ran).toEqual(['bridge']);
    expect(containerAddresses(r)[0]!.mac).not.toBe(macFor(ipOf(r)));
    await native().del(network, { containerId: 'e1', ifName: 'eth0', netns: ns });
    expect(ran).toEqual(['bridge', 'bridge']);
    expect(leases(join(dir, 'ipam'))).toEqual([]);
    await netns.remove('e1');
  });
});
