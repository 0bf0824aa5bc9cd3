/**
 * Published ports as berth's own DNAT rules (net/published.ts), on real namespaces with busybox
 * httpd as the container: one rule per mapping in berth's chain, no portmap run; reached from
 * the host on 127.0.0.1, and through the gateway address from a container of the same network
 * and from the container itself (hairpin); the rules go at detach, and rules nothing accounts for
 * go at the next start. A sandbox an older berthd made with portmap still works and is torn down
 * by portmap's DEL. Traffic goes only to loopback and to these namespaces.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { NetworkManager, type ContainerNetConfig, type NetworkSettings } from '../../src/engine/network';
import { legacyConfLists } from '../../src/engine/network/conflist';
import { SandboxFiles } from '../../src/engine/network/sandbox';
import { containerAddresses } from '../../src/net/cni/result';
import { Iptables, splitRule } from '../../src/net/iptables';
import { PublishedPorts } from '../../src/net/published';
import { nullLogger } from '../../src/core/logger';
import { linkExists } from '../../src/net/links';
import { freePort, httpGet, iptablesRules, requireCni, udpClient, udpReceiveScript, uniqueName } from '../helpers/net';
import { describeWith, requireTool } from '../helpers/requires';
import { until } from '../helpers/until';
import { NetFixture } from './fixture';

const cid = () => uniqueName('p', 40);
/** A GET that gives up after 3 s, for a client in a namespace (busybox wget -T crashes here). */
const httpGetScript = (url: string) =>
  `require('http').get(${JSON.stringify(url)}, { timeout: 3000 }, (r) => r.pipe(process.stdout)).on('timeout', () => process.exit(2)).on('error', () => process.exit(3))`;

describeWith(...requireCni(), requireTool('busybox', 'conntrack'))('published ports', () => {
  const f = new NetFixture();
  const www = () => join(f.dir, 'www');
  beforeAll(async () => {
    await f.setup();
    mkdirSync(www());
    writeFileSync(join(www(), 'index.html'), 'published\n');
    await f.m.createNetwork({ name: 'pub' });
  }, 60_000);
  afterAll(() => f.teardown(), 120_000);

  const attach = async (name: string, config: ContainerNetConfig): Promise<NetworkSettings & { id: string }> => {
    const id = cid();
    return { ...(await f.m.attach({ id, ns: 'default', name, hostname: name }, config)), id };
  };
  const dnatRules = (id: string) => iptablesRules().filter((l) => l.startsWith(`-A ${f.chain}-P `) && l.includes(id));
  const wget = (from: NetworkSettings, url: string) => f.run(from.sandboxKey, ['busybox', 'wget', '-q', '-O-', url]);
  const httpd = (s: NetworkSettings) => f.spawnIn(s.sandboxKey, ['busybox', 'httpd', '-f', '-p', '80', '-h', www()]);

  it('one DNAT rule per mapping in berth chain (portmap does not run); reached from the host, from the network and from the container itself; gone at detach', async () => {
    const peer = await attach('peer', await f.prepare({ mode: 'pub' }));
    const gw = peer.networks[0]!.gateway;
    const [p1, p2] = [await freePort(), await freePort()];
    const srv = await attach('srv', await f.prepare({ mode: 'pub', publish: [`127.0.0.1:${p1}:80`, `${gw}:${p2}:80`] }));
    const ip = srv.networks[0]!.ipAddress;
    const bridge = f.m.inspectNetwork('pub').bridge;
    const c = `-m comment --comment "berth port ${bridge} ${srv.id}"`;
    expect(dnatRules(srv.id)).toEqual([
      `-A ${f.chain}-P -d 127.0.0.1/32 -p tcp -m tcp --dport ${p1} ${c} -j DNAT --to-destination ${ip}:80`,
      `-A ${f.chain}-P -d ${gw}/32 -p tcp -m tcp --dport ${p2} ${c} -j DNAT --to-destination ${ip}:80`,
    ]);
    expect((await f.m.runner.attachments(srv.id)).map((a) => a.config.plugins.map((p) => p.type))).toEqual([['bridge']]);
    expect(iptablesRules().filter((l) => l.includes(`--dport ${p1}`) && !l.startsWith(`-A ${f.chain}-P `))).toEqual([]);

    httpd(srv);
    expect(await until('the port on 127.0.0.1', () => httpGet(p1, { path: '/index.html' }).catch(() => undefined))).toEqual({
      status: 200,
      body: 'published\n',
    });
    // Through the gateway address: from another container of the network, and from the container itself.
    expect(await wget(peer, `http://${gw}:${p2}/index.html`)).toMatchObject({ code: 0, stdout: 'published\n' });
    expect(await wget(srv, `http://${gw}:${p2}/index.html`)).toMatchObject({ code: 0, stdout: 'published\n' });

    // One rule gone behind berthd's back: the detach's one-step removal fails whole, and every rule naming the container goes instead.
    execFileSync('iptables-restore', ['-w', '--noflush'], { input: `*nat\n${dnatRules(srv.id)[1]!.replace(/^-A /, '-D ')}\nCOMMIT\n` });
    await f.m.detach(srv.id);
    await f.m.detach(peer.id);
    expect(dnatRules(srv.id)).toEqual([]);
    await expect(httpGet(p1, { path: '/index.html', timeoutMs: 1000 })).rejects.toThrow();
    expect(f.leftovers()).toEqual({ leases: [], veths: [], rules: [] });
  });

  it('a port published on every address is reached from another host through FORWARD, where its policy is DROP', async () => {
    const srv = await attach('fwd-srv', await f.prepare({ mode: 'pub', publish: ['0.0.0.0::80'] }));
    const port = srv.ports[0]!.hostPort;
    const bridge = f.m.inspectNetwork('pub').bridge;
    httpd(srv);
    // "Another host": a namespace of its own behind a veth pair, routed to this one.
    const [a, b] = f.pool.split('.');
    const [hostIp, clientIp] = [`${a}.${b}.250.1`, `${a}.${b}.250.2`];
    const client = uniqueName('fwdc', 40);
    const clientNetns = await f.m.netns.create(client);
    const [hostEnd, clientEnd] = [uniqueName('bfh'), uniqueName('bfc')];
    const ip = (...args: string[]) => execFileSync('ip', args);
    ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', clientEnd);
    // FORWARD's policy DROP (Docker's install sets it), for this bridge only: what no rule accepts does not reach it.
    const drop = ['FORWARD', '-o', bridge, '-j', 'DROP'];
    execFileSync('iptables', ['-w', '-A', ...drop]);
    try {
      ip('link', 'set', clientEnd, 'netns', clientNetns);
      ip('addr', 'add', `${hostIp}/30`, 'dev', hostEnd);
      ip('link', 'set', hostEnd, 'up');
      const inClient = (...args: string[]) => f.run(clientNetns, args);
      expect(await inClient('ip', 'addr', 'add', `${clientIp}/30`, 'dev', clientEnd)).toMatchObject({ code: 0 });
      expect(await inClient('ip', 'link', 'set', clientEnd, 'up')).toMatchObject({ code: 0 });
      expect(await inClient('ip', 'route', 'add', 'default', 'via', hostIp)).toMatchObject({ code: 0 });
      const accepts = iptablesRules().filter((l) => l.startsWith(`-A ${f.chain}-F `) && l.includes(srv.id));
      expect(accepts).toEqual([
        `-A ${f.chain}-F -d ${srv.networks[0]!.ipAddress}/32 ! -i ${bridge} -o ${bridge} -p tcp -m tcp --dport 80 -m comment --comment "berth port ${bridge} ${srv.id}" -j ACCEPT`,
      ]);
      const get = () => f.run(clientNetns, [process.execPath, '-e', httpGetScript(`http://${hostIp}:${port}/index.html`)]);
      expect(await until('the port from the other host', async () => ((await get()).stdout === 'published\n' ? true : undefined))).toBe(true);
      // Without the accept, DROP wins: the rule is what lets it through.
      const accept = splitRule(accepts[0]!);
      execFileSync('iptables', ['-w', '-D', ...accept.slice(1)]);
      try {
        expect((await get()).code).not.toBe(0);
      } finally {
        execFileSync('iptables', ['-w', ...accept]);
      }
    } finally {
      execFileSync('iptables', ['-w', '-D', ...drop]);
      if (linkExists(hostEnd)) ip('link', 'del', hostEnd);
      await f.m.netns.remove(client);
    }
    await f.m.detach(srv.id);
    expect(iptablesRules().filter((l) => l.includes(srv.id))).toEqual([]);
    expect(f.leftovers()).toEqual({ leases: [], veths: [], rules: [] });
  });

  it('a UDP client that was already sending to the port before it was published reaches the container: its stale flow is deleted', async () => {
    const port = await freePort();
    const client = await udpClient(port);
    try {
      await client.send('early');
      // The refused packet's flow: NAT decides at a flow's first packet only, so the DNAT rule alone would never apply to it.
      const flows = execFileSync('conntrack', ['-L', '-p', 'udp', '--orig-port-dst', String(port), '--orig-port-src', String(client.sourcePort)], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      expect(flows.toString()).toContain(`dport=${port}`);
      const srv = await attach('udp-srv', await f.prepare({ mode: 'pub', publish: [`127.0.0.1:${port}:9999/udp`] }));
      const received = f.run(srv.sandboxKey, [process.execPath, '-e', udpReceiveScript(9999)], 15_000);
      // The client keeps sending from the same port, as a real one does (which also keeps a stale flow alive).
      const ticker = setInterval(() => void client.send('hello'), 100);
      try {
        expect(await received).toMatchObject({ code: 0, stdout: 'hello' });
      } finally {
        clearInterval(ticker);
      }
      await f.m.detach(srv.id);
    } finally {
      client.close();
    }
    expect(f.leftovers()).toEqual({ leases: [], veths: [], rules: [] });
  });

  it('without conntrack(8) a UDP port is still published, with a warning that stale flows were not deleted', async () => {
    const warnings: string[] = [];
    const log = { ...nullLogger, warn: (msg: string) => void warnings.push(msg) };
    const ports = new PublishedPorts(new Iptables(), `${f.chain}-P`, `${f.chain}-F`, { log, conntrack: '/nonexistent/conntrack' });
    const pub = {
      bridge: f.m.inspectNetwork('pub').bridge,
      containerId: cid(),
      ip: '10.255.255.9',
      mappings: [{ hostIp: '127.0.0.1', hostPort: await freePort(), containerPort: 53, proto: 'udp' as const }],
    };
    const rules = ports.ruleSet(pub);
    await ports.add(pub, rules);
    try {
      expect(iptablesRules().filter((l) => l.includes(pub.containerId))).toHaveLength(2);
      expect(warnings).toEqual(['published UDP port: stale flows to it not deleted']);
    } finally {
      await ports.remove(pub.containerId, rules);
    }
    expect(iptablesRules().filter((l) => l.includes(pub.containerId))).toEqual([]);
  });

  it("route_localnet does not open the host's loopback: a container that routes 127.0.0.1 to its gateway reaches nothing", async () => {
    // What a port published on 127.0.0.1 turns on for the bridge (CVE-2020-8558).
    const srv = await attach('lo-srv', await f.prepare({ mode: 'pub', publish: ['127.0.0.1::80'] }));
    const bridge = f.m.inspectNetwork('pub').bridge;
    expect(readFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, 'utf8').trim()).toBe('1');
    const secret = createServer((_, res) => res.end('host loopback\n'));
    await new Promise<void>((r) => secret.listen(0, '127.0.0.1', r));
    const port = (secret.address() as AddressInfo).port;
    const attacker = await attach('lo-attacker', await f.prepare({ mode: 'pub' }));
    const gw = attacker.networks[0]!.gateway;
    try {
      // Root in its own namespace (NET_ADMIN): 127.0.0.1 is no longer local, and goes to the gateway.
      const sh = (script: string) => f.run(attacker.sandboxKey, ['sh', '-c', script]);
      const routed = await sh(
        `ip addr del 127.0.0.1/8 dev lo && echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet && ip route add 127.0.0.1/32 via ${gw} dev eth0 && ip route get 127.0.0.1`,
      );
      expect(routed).toMatchObject({ code: 0, stdout: expect.stringContaining(`via ${gw} dev eth0`) });
      const guard = splitRule(iptablesRules().find((l) => l.startsWith(`-A ${f.chain}-L `) && l.includes(bridge))!);
      const probe = () => f.run(attacker.sandboxKey, [process.execPath, '-e', httpGetScript(`http://127.0.0.1:${port}/`)]);
      // Without the guard the host answers: the probe can tell (it is the hole the guard closes).
      execFileSync('iptables', ['-w', '-t', 'raw', '-D', ...guard.slice(1)]);
      try {
        expect(await probe()).toMatchObject({ code: 0, stdout: 'host loopback\n' });
      } finally {
        execFileSync('iptables', ['-w', '-t', 'raw', ...guard]);
      }
      expect((await probe()).code).not.toBe(0);
    } finally {
      secret.close();
      await f.m.detach(attacker.id);
      await f.m.detach(srv.id);
    }
    expect(f.leftovers()).toEqual({ leases: [], veths: [], rules: [] });
  });

  it("a sandbox an older berthd made with portmap keeps its port across the upgrade, and portmap's DEL takes it down", async () => {
    const n = f.m.store.get('pub');
    const old = legacyConfLists(n, { ipamDir: join(f.dir, 'state', 'network', 'ipam'), adminChain: `${f.chain}-1` })[1]!;
    const id = cid();
    const port = await freePort();
    const netns = f.m.netns.path(id);
    await f.m.netns.create(id);
    const mapping = { hostIp: '127.0.0.1', hostPort: port, containerPort: 80, proto: 'tcp' as const };
    const res = await f.m.runner.add(old, {
      containerId: id,
      netns,
      ifName: 'eth0',
      capabilityArgs: { portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }] },
    });
    const ip = containerAddresses(res)[0]!.ip;
    await new SandboxFiles(join(f.dir, 'state', 'network', 'sandboxes')).write({
      version: 1,
      id,
      ns: 'default',
      name: 'old',
      hostname: 'old',
      mode: 'bridge',
      netns,
      state: 'attached',
      endpoints: [
        { networkId: n.id, networkName: n.name, ifName: 'eth0', ipAddress: ip, ipPrefixLen: 24, gateway: n.gateway, macAddress: '', aliases: [], dnsNames: [] },
      ],
      ports: [mapping],
      portsOn: n.id,
      dnsServers: [],
    });
    expect(iptablesRules().some((l) => /^-A CNI-DN-/.test(l) && l.includes(`--dport ${port}`))).toBe(true);
    f.spawnIn(netns, ['busybox', 'httpd', '-f', '-p', '80', '-h', www()]);

    const m2 = new NetworkManager(f.options());
    f.managers.push(m2);
    await m2.open();
    expect(await m2.restore((x) => x === id)).toEqual({ kept: 1, released: 0 });
    expect(await until('the old mapping', () => httpGet(port, { path: '/index.html' }).catch(() => undefined))).toEqual({ status: 200, body: 'published\n' });
    await m2.detach(id);
    expect(iptablesRules().filter((l) => l.includes(`--dport ${port}`) || l.includes(id))).toEqual([]);
    expect(f.leftovers()).toEqual({ leases: [], veths: [], rules: [] });
  });

  it("DNAT rules no sandbox accounts for (a crash before the sandbox file named them) are removed at the next start; other bridges' are not", async () => {
    const s = await attach('lost', await f.prepare({ mode: 'pub', publish: ['127.0.0.1::80'] }));
    expect(dnatRules(s.id)).toHaveLength(1);
    rmSync(join(f.dir, 'state', 'network', 'sandboxes', `${s.id}.json`));
    // Another berthd's container on its own bridge, in a chain of the same name.
    const foreign = `-p tcp -m tcp --dport 9 -m comment --comment "berth port otherbr0 ${cid()}" -j DNAT --to-destination 192.0.2.9:9`;
    const restore = (op: string) => execFileSync('iptables-restore', ['-w', '--noflush'], { input: `*nat\n${op} ${f.chain}-P ${foreign}\nCOMMIT\n` });
    restore('-A');
    try {
      await f.manager();
      expect(dnatRules(s.id)).toEqual([]);
      expect(iptablesRules()).toContain(`-A ${f.chain}-P ${foreign}`);
    } finally {
      restore('-D');
    }
    expect(f.leftovers()).toEqual({ leases: [], veths: [], rules: [] });
  });
});
