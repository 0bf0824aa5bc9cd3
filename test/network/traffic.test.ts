/**
 * Sandboxes on real namespaces, with busybox processes as the containers: names and aliases that
 * resolve through berthd's resolver on the gateway, isolation between networks, internal
 * networks, published ports reached with a real HTTP client, none mode, connect/disconnect of a
 * running sandbox, addresses released and reused, masquerade out of the host. Traffic goes only
 * to loopback and to these namespaces (the resolver forwards nowhere: no upstreams).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { errorKind } from '../../src/core/errors';
import type { ContainerNetConfig, NetworkSettings } from '../../src/engine/network';
import { freePort, httpGet, requireCni, uniqueName } from '../helpers/net';
import { until } from '../helpers/until';
import { describeWith, requireTool } from '../helpers/requires';
import { NetnsDir } from '../../src/net/netns';
import { NetFixture } from './fixture';

const cid = () => uniqueName('t', 40);

describeWith(...requireCni(), requireTool('busybox'))('container networking', () => {
  const f = new NetFixture();
  const www = () => join(f.dir, 'www');
  beforeAll(async () => {
    await f.setup();
    mkdirSync(www());
    writeFileSync(join(www(), 'index.html'), 'hello from the sandbox\n');
  }, 60_000);
  afterAll(() => f.teardown(), 120_000);

  const attach = async (name: string, config: ContainerNetConfig, etc = false): Promise<NetworkSettings & { id: string }> => {
    const id = cid();
    const paths = etc ? { hostsPath: join(f.dir, `${id}.hosts`), resolvConfPath: join(f.dir, `${id}.resolv`) } : undefined;
    const s = await f.m.attach({ id, ns: 'default', name, hostname: name }, config, paths);
    return { ...s, id };
  };
  const lookup = (from: NetworkSettings, name: string, server: string) => f.run(from.sandboxKey, ['busybox', 'nslookup', name, server]);
  const ping = async (from: NetworkSettings, ip: string) => (await f.run(from.sandboxKey, ['busybox', 'ping', '-c', '1', '-W', '2', ip])).code === 0;

  let web: NetworkSettings & { id: string };
  let db: NetworkSettings & { id: string };
  let other: NetworkSettings & { id: string };

  it('two containers on a user network reach each other by address, name, alias and short id; PTR names them', async () => {
    await f.m.createNetwork({ name: 'app' });
    web = await attach('web', await f.prepare({ mode: 'app', aliases: ['www', 'frontend'] }), true);
    db = await attach('db', await f.prepare({ mode: 'app' }), true);
    const [w, d] = [web.networks[0]!, db.networks[0]!];
    expect(w).toMatchObject({
      networkName: 'app',
      ifName: 'eth0',
      ipPrefixLen: 24,
      aliases: ['www', 'frontend'],
      dnsNames: ['web', 'www', 'frontend', web.id.slice(0, 12)],
    });
    expect(await ping(db, w.ipAddress)).toBe(true);
    expect(await ping(web, d.ipAddress)).toBe(true);
    for (const name of ['web', 'www', 'FrontEnd', web.id.slice(0, 12), 'web.app']) {
      const r = await lookup(db, name, d.gateway);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Address: ${w.ipAddress}`);
    }
    expect((await lookup(web, 'db', w.gateway)).stdout).toContain(`Address: ${d.ipAddress}`);
    expect((await lookup(db, w.ipAddress, d.gateway)).stdout).toContain('name = web.app');
    // Unknown names go upstream; this berthd has none: SERVFAIL, not an answer.
    expect((await lookup(db, 'nosuch', d.gateway)).code).not.toBe(0);
  });

  it('/etc/hosts and resolv.conf: own address and hostname, berthd resolver on the gateway with ndots:0', async () => {
    const hosts = readFileSync(join(f.dir, `${web.id}.hosts`), 'utf8');
    expect(hosts).toContain(`${web.networks[0]!.ipAddress}\tweb\n`);
    expect(readFileSync(join(f.dir, `${web.id}.resolv`), 'utf8')).toBe(`nameserver ${web.networks[0]!.gateway}\nsearch test.invalid\noptions ndots:0\n`);
    const e = await attach(
      'extra',
      await f.prepare({ extraHosts: ['svc:192.0.2.9', 'hostbox:host-gateway'], dns: ['192.0.2.53'], dnsSearch: ['example.test'] }),
      true,
    );
    try {
      const h = readFileSync(join(f.dir, `${e.id}.hosts`), 'utf8');
      expect(h).toContain('192.0.2.9\tsvc\n');
      expect(h).toContain(`${e.networks[0]!.gateway}\thostbox\n`);
      // The default network: no resolver of berthd's; --dns as given.
      expect(readFileSync(join(f.dir, `${e.id}.resolv`), 'utf8')).toBe('nameserver 192.0.2.53\nsearch example.test\n');
      expect(e.networks[0]).toMatchObject({ networkName: 'bridge', dnsNames: [] });
    } finally {
      await f.m.detach(e.id);
    }
  });

  it('a container on another network cannot reach them, and they cannot reach it; each reaches its gateway', async () => {
    await f.m.createNetwork({ name: 'other' });
    other = await attach('lonely', await f.prepare({ mode: 'other' }));
    const o = other.networks[0]!;
    const otherBridge = f.m.inspectNetwork('other').bridge;
    const appBridge = f.m.inspectNetwork('app').bridge;
    const dropped = () =>
      execFileSync('iptables', ['-w', '-nvx', '-L', `${f.chain}-2`], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(appBridge) || l.includes(otherBridge))
        .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
    const before = dropped();
    expect(await ping(other, o.gateway)).toBe(true);
    expect(await ping(web, web.networks[0]!.gateway)).toBe(true);
    expect(await ping(other, web.networks[0]!.ipAddress)).toBe(false);
    expect(await ping(web, o.ipAddress)).toBe(false);
    // It was berth's isolation that dropped them (with forwarding on: the bridge plugin enables it).
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1');
    expect(dropped()).toBeGreaterThanOrEqual(before + 2);
    // Names of the other network do not resolve here.
    expect((await lookup(other, 'web', o.gateway)).stdout).not.toContain(web.networks[0]!.ipAddress);
  });

  it('an internal network: no default route, nothing to other networks; names still resolve', async () => {
    await f.m.createNetwork({ name: 'priv', internal: true });
    const a = await attach('inside', await f.prepare({ mode: 'priv' }));
    const b = await attach('inside2', await f.prepare({ mode: 'priv' }));
    try {
      expect((await f.run(a.sandboxKey, ['ip', 'route'])).stdout).not.toContain('default');
      expect(await ping(a, b.networks[0]!.ipAddress)).toBe(true);
      expect(await ping(a, web.networks[0]!.ipAddress)).toBe(false);
      expect((await lookup(a, 'inside2', a.networks[0]!.gateway)).stdout).toContain(`Address: ${b.networks[0]!.ipAddress}`);
      expect(f.m.inspectNetwork('priv').ipMasquerade).toBe(false);
    } finally {
      await f.m.detach(a.id);
      await f.m.detach(b.id);
    }
  });

  it('a masquerading network reaches beyond the host as the host (one rule per network); one without masquerade does not', async () => {
    // "Beyond": a namespace of this test's, routed to the host only over a /30 (no route back to the containers' subnets).
    const [a, b] = f.pool.split('.');
    const outside = new NetnsDir(join(f.dir, 'outside'));
    const ns = await outside.create('out');
    const [host, peer] = [uniqueName('vo'), uniqueName('vp')];
    const holder = f.spawnIn(ns, ['sleep', '60']);
    await until('the holder in the namespace', () => readlinkSync(`/proc/${holder.pid}/ns/net`) === `net:[${statSync(ns).ino}]`);
    try {
      execFileSync('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      execFileSync('ip', ['link', 'set', peer, 'netns', String(holder.pid)]);
      execFileSync('ip', ['addr', 'add', `${a}.${b}.250.1/30`, 'dev', host]);
      execFileSync('ip', ['link', 'set', host, 'up']);
      for (const cmd of [
        ['ip', 'addr', 'add', `${a}.${b}.250.2/30`, 'dev', peer],
        ['ip', 'link', 'set', peer, 'up'],
      ])
        expect((await f.run(ns, cmd)).code).toBe(0);
      await f.m.createNetwork({ name: 'natted' });
      await f.m.createNetwork({ name: 'routed', options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' } });
      const natted = await attach('natted1', await f.prepare({ mode: 'natted' }));
      const routed = await attach('routed1', await f.prepare({ mode: 'routed' }));
      try {
        expect(await ping(natted, `${a}.${b}.250.2`)).toBe(true);
        expect(await ping(routed, `${a}.${b}.250.2`)).toBe(false);
      } finally {
        await f.m.detach(natted.id);
        await f.m.detach(routed.id);
      }
    } finally {
      execFileSync('ip', ['link', 'del', host], { stdio: 'ignore' });
      holder.kill('SIGKILL');
      await outside.remove('out');
    }
  });

  it('-p 127.0.0.1:PORT:80 and -P reach busybox httpd in the sandbox from the host; a taken port is refused; all released after detach', async () => {
    const port = await freePort();
    const s = await attach('httpd', await f.prepare({ mode: 'app', publish: [`127.0.0.1:${port}:80`], publishAll: true }, ['8080/tcp']));
    expect(s.ports).toEqual([
      { hostIp: '127.0.0.1', hostPort: port, containerPort: 80, proto: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: expect.any(Number), containerPort: 8080, proto: 'tcp' },
    ]);
    const auto = s.ports[1]!.hostPort;
    expect(auto).not.toBe(0);
    f.spawnIn(s.sandboxKey, ['busybox', 'httpd', '-f', '-p', '80', '-h', www()]);
    f.spawnIn(s.sandboxKey, ['busybox', 'httpd', '-f', '-p', '8080', '-h', www()]);
    expect(await until('the published port', () => httpGet(port, { path: '/index.html' }).catch(() => undefined))).toEqual({
      status: 200,
      body: 'hello from the sandbox\n',
    });
    expect(await until('the -P port', () => httpGet(auto, { path: '/index.html' }).catch(() => undefined))).toEqual({
      status: 200,
      body: 'hello from the sandbox\n',
    });
    // Directly to the container's address too.
    expect((await httpGet(80, { host: s.networks[0]!.ipAddress, path: '/index.html' })).body).toBe('hello from the sandbox\n');
    // Published on 127.0.0.1 only (berth's default): not on the host's other addresses.
    const clash = await f.m
      .attach({ id: cid(), ns: 'default', name: 'clash', hostname: 'clash' }, await f.prepare({ mode: 'app', publish: [`127.0.0.1:${port}:80`] }))
      .catch((e) => e);
    expect(errorKind(clash)).toBe('AlreadyExists');
    expect(clash.message).toContain('port is already allocated');
    await f.m.detach(s.id);
    await expect(httpGet(port, { path: '/index.html', timeoutMs: 1000 })).rejects.toThrow();
    await new Promise<void>((resolve, reject) => {
      const srv = createServer().once('error', reject);
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
    });
    expect(f.leftovers().rules.filter((l) => l.includes(`--dport ${port}`) || l.includes(`--dport ${auto}`))).toEqual([]);
  });

  it('--network none: only lo, up', async () => {
    const s = await attach('alone', await f.prepare({ mode: 'none' }));
    try {
      expect(s).toMatchObject({ mode: 'none', networks: [], ports: [] });
      const links = (await f.run(s.sandboxKey, ['ip', '-o', 'link', 'show'])).stdout.trim().split('\n');
      expect(links).toHaveLength(1);
      expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
      expect(await ping(s, '127.0.0.1')).toBe(true);
    } finally {
      await f.m.detach(s.id);
    }
  });

  it('connect and disconnect a running sandbox: eth1 comes and goes, with its name on that network', async () => {
    let cfg = await f.prepare({ mode: 'app' });
    const s = await attach('roamer', cfg);
    const ref = { id: s.id, ns: 'default', name: 'roamer', hostname: 'roamer' };
    cfg = await f.m.connect(ref, cfg, 'other', { aliases: ['wanderer'] });
    expect(cfg.endpoints.map((e) => e.networkName)).toEqual(['app', 'other']);
    const live = f.m.settings(s.id)!;
    const eth1 = live.networks.find((n) => n.networkName === 'other')!;
    expect(eth1.ifName).toBe('eth1');
    expect((await f.run(s.sandboxKey, ['ip', '-4', '-o', 'addr', 'show', 'eth1'])).stdout).toContain(`inet ${eth1.ipAddress}/24`);
    expect(await ping(other, eth1.ipAddress)).toBe(true);
    expect((await lookup(other, 'wanderer', other.networks[0]!.gateway)).stdout).toContain(`Address: ${eth1.ipAddress}`);
    expect(f.m.inspectNetwork('other').containers[s.id]).toEqual({ name: 'roamer', ipv4Address: `${eth1.ipAddress}/24`, macAddress: eth1.macAddress });
    expect(errorKind(await f.m.connect(ref, cfg, 'other').catch((e) => e))).toBe('Conflict');
    expect(errorKind(await f.m.removeNetwork('other').catch((e) => e))).toBe('FailedPrecondition');

    cfg = await f.m.disconnect(ref, cfg, 'other');
    expect(cfg.endpoints.map((e) => e.networkName)).toEqual(['app']);
    expect((await f.run(s.sandboxKey, ['ip', '-o', 'link', 'show'])).stdout).not.toContain('eth1');
    expect((await lookup(other, 'wanderer', other.networks[0]!.gateway)).stdout).not.toContain(eth1.ipAddress);
    expect(await ping(db, s.networks[0]!.ipAddress)).toBe(true);
    expect(errorKind(await f.m.disconnect(ref, cfg, 'other').catch((e) => e))).toBe('NotFound');
    await f.m.detach(s.id);
  });

  it('addresses are released and reused: a /29 serves many containers in turn; a fixed --ip is free again after detach', async () => {
    const [a, b] = f.pool.split('.');
    await f.m.createNetwork({ name: 'tiny', subnet: `${a}.${b}.99.0/29` }); // .2–.6: five addresses
    const cfg = await f.prepare({ mode: 'tiny' });
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const s = await attach(`turn${i}`, cfg);
      seen.add(s.networks[0]!.ipAddress);
      await f.m.detach(s.id);
    }
    expect(seen.size).toBe(5);
    const five = [];
    for (let i = 0; i < 5; i++) five.push(await attach(`full${i}`, cfg));
    expect(errorKind(await attach('sixth', cfg).catch((e) => e))).toBe('ResourceExhausted');
    for (const s of five) await f.m.detach(s.id);
    const fixed = await f.prepare({ mode: 'tiny', ip: `${a}.${b}.99.4` });
    const one = await attach('fixed1', fixed);
    expect(one.networks[0]!.ipAddress).toBe(`${a}.${b}.99.4`);
    expect(errorKind(await attach('fixed2', fixed).catch((e) => e))).toBe('AlreadyExists');
    await f.m.detach(one.id);
    const two = await attach('fixed3', fixed);
    expect(two.networks[0]!.ipAddress).toBe(`${a}.${b}.99.4`);
    await f.m.detach(two.id);
    expect(f.leftovers().leases.filter((l) => l.startsWith('tiny/'))).toEqual([]);
  });

  it('after everything is detached nothing is left: no lease, no veth, no rule', async () => {
    for (const s of [web, db, other]) await f.m.detach(s.id);
    expect(f.leftovers()).toEqual({ leases: [], veths: [], rules: [] });
  });
});
