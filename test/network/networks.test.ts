/**
 * Networks as Docker users know them: create (subnets from the pool, none overlapping another
 * network or a host route), ls with filters, inspect by name/id/prefix, rm (refused in use or for
 * the default), prune; the default network on first use; conflists under berthd's root (and
 * the rewrite of an older berthd's); the iptables rules (isolation, forward accepts, masquerade)
 * each network adds and removes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorKind } from '../../src/core/errors';
import { DEFAULT_NETWORK } from '../../src/engine/network';
import { legacyConfLists, networkConfList } from '../../src/engine/network/conflist';
import { iptablesRules, requireCni, uniqueName } from '../helpers/net';
import { describeWith } from '../helpers/requires';
import { NetFixture } from './fixture';

const kindOf = async (p: Promise<unknown>) =>
  errorKind(
    await p.then(
      () => undefined,
      (e) => e,
    ),
  );

describeWith(...requireCni())('networks', () => {
  const f = new NetFixture();
  beforeAll(() => f.setup(), 60_000);
  afterAll(() => f.teardown(), 60_000);

  it('create allocates a /24 from the pool, writes its conflist under berthd root, adds its iptables rules', async () => {
    const n = await f.m.createNetwork({ name: 'front', labels: { tier: 'web' } });
    const [a, b] = f.pool.split('.');
    // 10.x.0.0/24 is kept for the default network.
    expect(n).toMatchObject({
      name: 'front',
      driver: 'bridge',
      subnet: `${a}.${b}.1.0/24`,
      gateway: `${a}.${b}.1.1`,
      ipMasquerade: true,
      internal: false,
      isDefault: false,
      scope: 'local',
      containers: {},
    });
    expect(n.id).toMatch(/^[0-9a-f]{64}$/);
    expect(n.bridge).toBe(`berth${n.id.slice(0, 10)}`);
    expect(n.configPath).toBe(join(f.dir, 'root', 'network', 'conflist', 'front.conflist'));
    const list = JSON.parse(readFileSync(n.configPath, 'utf8'));
    // Forward accepts, masquerade and published ports are berth's rules, not the plugins' per container.
    expect(list.plugins.map((p: { type: string }) => p.type)).toEqual(['bridge']);
    expect(list.plugins[0].ipMasq).toBe(false);
    const rules = iptablesRules();
    const c = '-m comment --comment "berth network front"';
    expect(rules).toEqual(
      expect.arrayContaining([
        `-A FORWARD -j ${f.chain}-F`,
        `-A ${f.chain}-1 -i ${n.bridge} ! -o ${n.bridge} ${c} -j ${f.chain}-2`,
        `-A ${f.chain}-2 -o ${n.bridge} ${c} -j DROP`,
        `-A ${f.chain}-F -o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`,
        `-A ${f.chain}-F -i ${n.bridge} ${c} -j ACCEPT`,
        `-A POSTROUTING -j ${f.chain}-M`,
        `-A ${f.chain}-M -s ${n.subnet} ! -d 224.0.0.0/4 ! -o ${n.bridge} ${c} -j MASQUERADE`,
        // Published ports: the DNAT chain for local destinations, and the masquerade of what reaches them from loopback or from the network itself.
        `-A PREROUTING -m addrtype --dst-type LOCAL -j ${f.chain}-P`,
        `-A OUTPUT -m addrtype --dst-type LOCAL -j ${f.chain}-P`,
        `-A ${f.chain}-M -s 127.0.0.0/8 -o ${n.bridge} ${c} -j MASQUERADE`,
        `-A ${f.chain}-M -s ${n.subnet} -o ${n.bridge} -m conntrack --ctstate DNAT ${c} -j MASQUERADE`,
        // route_localnet must not open the host's loopback to the network's containers.
        `-A PREROUTING -j ${f.chain}-L`,
        `-A ${f.chain}-L -d 127.0.0.0/8 -i ${n.bridge} ${c} -j DROP`,
      ]),
    );
    // Isolation before any accept.
    expect(rules.find((l) => l.startsWith(`-A ${f.chain}-F `))).toBe(`-A ${f.chain}-F -j ${f.chain}-1`);
    // The next one takes the next /24.
    expect((await f.m.createNetwork({ name: 'back', internal: true })).subnet).toBe(`${a}.${b}.2.0/24`);
  });

  it('refuses a duplicate name, reserved names, overlapping subnets, bad gateways and other drivers', async () => {
    const [a, b] = f.pool.split('.');
    expect(await kindOf(f.m.createNetwork({ name: 'front' }))).toBe('Conflict');
    for (const name of ['none', 'host', 'bridge', 'default']) expect(await kindOf(f.m.createNetwork({ name }))).toBe('Conflict');
    expect(await kindOf(f.m.createNetwork({ name: 'bad/name' }))).toBe('InvalidArgument');
    expect(await kindOf(f.m.createNetwork({ name: 'ovl', subnet: `${a}.${b}.1.128/25` }))).toBe('Conflict');
    expect(await kindOf(f.m.createNetwork({ name: 'def', subnet: `${a}.${b}.0.0/24` }))).toBe('Conflict'); // the default network's
    expect(await kindOf(f.m.createNetwork({ name: 'route', subnet: '127.1.0.0/16' }))).toBe('Conflict'); // a host route
    expect(await kindOf(f.m.createNetwork({ name: 'gw', subnet: `${a}.${b}.9.0/24`, gateway: `${a}.${b}.10.1` }))).toBe('InvalidArgument');
    expect(await kindOf(f.m.createNetwork({ name: 'rng', subnet: `${a}.${b}.9.0/24`, ipRange: `${a}.${b}.8.0/25` }))).toBe('InvalidArgument');
    expect(await kindOf(f.m.createNetwork({ name: 'mv', driver: 'macvlan' }))).toBe('NotImplemented');
    expect(await kindOf(f.m.createNetwork({ name: 'v6', ipv6: true }))).toBe('NotImplemented');
    expect(await kindOf(f.m.createNetwork({ name: 'opt', options: { 'com.docker.network.bridge.enable_icc': 'false' } }))).toBe('InvalidArgument');
    expect(await kindOf(f.m.createNetwork({ name: 'lo', options: { 'com.docker.network.bridge.name': 'lo' } }))).toBe('Conflict'); // a link of the host
  });

  it('a given subnet, gateway, ip range and bridge name; masquerade off by option', async () => {
    const [a, b] = f.pool.split('.');
    const br = uniqueName('bx');
    const n = await f.m.createNetwork({
      name: 'custom',
      subnet: `${a}.${b}.20.0/24`,
      gateway: `${a}.${b}.20.254`,
      ipRange: `${a}.${b}.20.128/26`,
      options: { 'com.docker.network.bridge.name': br, 'com.docker.network.bridge.enable_ip_masquerade': 'false', 'com.docker.network.driver.mtu': '1400' },
    });
    expect(n).toMatchObject({ bridge: br, gateway: `${a}.${b}.20.254`, ipRange: `${a}.${b}.20.128/26`, ipMasquerade: false, mtu: 1400 });
    const bridge = JSON.parse(readFileSync(n.configPath, 'utf8')).plugins[0];
    // No masquerade out; what published ports need (from loopback, hairpin) stays.
    expect(iptablesRules().filter((l) => l.startsWith(`-A ${f.chain}-M `) && l.includes(`! -o ${br}`))).toEqual([]);
    expect(bridge).toMatchObject({
      mtu: 1400,
      ipam: { ranges: [[{ subnet: `${a}.${b}.20.0/24`, gateway: `${a}.${b}.20.254`, rangeStart: `${a}.${b}.20.128`, rangeEnd: `${a}.${b}.20.191` }]] },
    });
    expect(await kindOf(f.m.createNetwork({ name: 'custom2', options: { 'com.docker.network.bridge.name': br } }))).toBe('Conflict');
  });

  it('inspect by name, id or unique id prefix; ls filters', async () => {
    const n = f.m.inspectNetwork('front');
    expect(f.m.inspectNetwork(n.id).name).toBe('front');
    expect(f.m.inspectNetwork(n.id.slice(0, 6)).name).toBe('front');
    expect(await kindOf(Promise.resolve().then(() => f.m.inspectNetwork('nosuch')))).toBe('NotFound');
    expect(f.m.listNetworks({ filters: { label: ['tier=web'] } }).map((x) => x.name)).toEqual(['front']);
    expect(f.m.listNetworks({ filters: { name: ['ba'] } }).map((x) => x.name)).toEqual(['back']);
    expect(f.m.listNetworks({ filters: { type: ['custom'] } }).map((x) => x.name)).toEqual(['back', 'custom', 'front']);
  });

  it('the default network is made on first use, with berthd configured bridge and subnet (its bridge left by an earlier berthd too), and cannot be removed', async () => {
    expect(f.m.listNetworks().some((n) => n.isDefault)).toBe(false);
    const [a, b] = f.pool.split('.');
    // As a berthd with another root left it: the bridge with the gateway address, its subnet routed.
    execFileSync('ip', ['link', 'add', f.defaultBridge, 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', `${a}.${b}.0.1/24`, 'dev', f.defaultBridge]);
    execFileSync('ip', ['link', 'set', f.defaultBridge, 'up']);
    await f.prepare({});
    const def = f.m.inspectNetwork(DEFAULT_NETWORK);
    expect(def).toMatchObject({ name: 'bridge', bridge: f.defaultBridge, subnet: `${a}.${b}.0.0/24`, isDefault: true });
    expect(await kindOf(f.m.removeNetwork('bridge'))).toBe('FailedPrecondition');
    expect(f.m.listNetworks({ filters: { type: ['builtin'] } }).map((x) => x.name)).toEqual(['bridge']);
  });

  it("a restarted berthd rewrites an older berthd's conflist nobody edited, and leaves an edited one", async () => {
    const ctx = { ipamDir: join(f.dir, 'state', 'network', 'ipam'), adminChain: `${f.chain}-1` };
    const custom = f.m.store.get('custom');
    const front = f.m.store.get('front');
    const back = f.m.store.get('back');
    // The first with the firewall plugin and ipMasq, the next with portmap.
    const [withFirewall, withPortmap] = [legacyConfLists(custom, ctx)[0]!, legacyConfLists(front, ctx)[1]!];
    expect(withFirewall.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'firewall']);
    expect(withPortmap.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap']);
    const edited = { ...legacyConfLists(back, ctx)[1]!, plugins: [...legacyConfLists(back, ctx)[1]!.plugins, { type: 'bandwidth' }] };
    writeFileSync(f.m.store.confListPath(custom), JSON.stringify(withFirewall));
    writeFileSync(f.m.store.confListPath(front), JSON.stringify(withPortmap));
    writeFileSync(f.m.store.confListPath(back), JSON.stringify(edited));
    await f.manager();
    expect(JSON.parse(readFileSync(f.m.store.confListPath(custom), 'utf8'))).toEqual(networkConfList(custom, ctx));
    expect(JSON.parse(readFileSync(f.m.store.confListPath(front), 'utf8'))).toEqual(networkConfList(front, ctx));
    expect(JSON.parse(readFileSync(f.m.store.confListPath(back), 'utf8'))).toEqual(edited);
    writeFileSync(f.m.store.confListPath(back), JSON.stringify(networkConfList(back, ctx)));
  });

  it('a restarted berthd has the same networks; rm removes the record, conflist and rules; prune the unused', async () => {
    const m2 = await f.manager();
    expect(m2.listNetworks().map((n) => n.name)).toEqual(['back', 'bridge', 'custom', 'front']);
    const front = m2.inspectNetwork('front');
    await m2.removeNetwork('front');
    expect(existsSync(front.configPath)).toBe(false);
    expect(iptablesRules().some((l) => l.includes(front.bridge))).toBe(false);
    expect(await kindOf(m2.removeNetwork('front'))).toBe('NotFound');
    expect(await m2.pruneNetworks({ label: ['nosuch'] })).toEqual([]);
    expect((await m2.pruneNetworks()).sort()).toEqual(['back', 'custom']);
    expect(m2.listNetworks().map((n) => n.name)).toEqual(['bridge']);
  });
});
