/**
 * Networking through the engine (what `berth run --network/-p/...` drives): containers on a user
 * network reach each other by name and alias (their resolv.conf points at berthd's resolver on
 * the gateway), another network cannot reach them, a published port reaches busybox httpd from
 * the host, container:x shares x's namespace, connect/disconnect of a running container,
 * addresses released at stop and rm and reused, what inspect and ps show, and 30 containers run
 * and removed at once leave nothing. Traffic goes only to loopback and these containers.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateOptions } from '../../src/engine';
import { formatPorts } from '../../src/engine/network';
import { TASKS } from '../../src/daemon/slices/tasks';
import { drain, EngineFixture, until } from '../helpers/engine';
import { freePort, HostBaseline, httpBody, leases, requireCni, testChainRule } from '../helpers/net';
import { itWith } from '../helpers/requires';

const f = new EngineFixture('engnet');
const itNet = itWith(...requireCni());
let host: HostBaseline;

beforeAll(async () => {
  host = new HostBaseline();
  await f.setup();
  await f.addImage();
}, 120_000);
afterAll(() => f.teardown(), 120_000);

const ipam = () => join(f.dirs.state, 'network', 'ipam');
const leftovers = () => host.leftovers(ipam(), testChainRule);

async function runD(o: Omit<CreateOptions, 'image'>, cmd = ['sleep', '1000']) {
  const c = await f.engine.create(f.ctx, { image: 'busybox', cmd, ...o });
  await f.engine.start(f.ctx, c.id);
  return f.engine.inspect(f.ctx, c.id);
}

async function sh(id: string, script: string): Promise<{ code: number; out: string }> {
  const e = await f.engine.exec(f.ctx, id, { cmd: ['sh', '-c', script] });
  const r = await drain(e.events());
  return { code: r.exitCode ?? -1, out: r.stdout + r.stderr };
}

describe('engine: networking', () => {
  itNet('two containers on a user network reach each other by name and alias; a third on another network cannot', async () => {
    await f.engine.createNetwork(f.ctx, { name: 'shop' });
    await f.engine.createNetwork(f.ctx, { name: 'office' });
    const web = await runD({ name: 'web', network: 'shop', networkAliases: ['www'] });
    const db = await runD({ name: 'db', network: 'shop' });
    const spy = await runD({ name: 'spy', network: 'office' });
    const webIp = web.networkSettings.networks[0]!.ipAddress;
    const gw = web.networkSettings.networks[0]!.gateway;
    expect(await sh(db.id, 'cat /etc/resolv.conf')).toEqual({ code: 0, out: `nameserver ${gw}\noptions ndots:0\n` });
    for (const name of ['web', 'www', 'web.shop']) {
      const r = await sh(db.id, `ping -c 1 -W 2 ${name}`);
      expect(r.out).toContain(`(${webIp})`);
      expect(r.code).toBe(0);
    }
    expect((await sh(web.id, 'nslookup db')).out).toContain(`Address: ${db.networkSettings.networks[0]!.ipAddress}`);
    expect((await sh(web.id, 'cat /etc/hosts')).out).toContain(`${webIp}\t${web.config.hostname}\n`);
    // Another network: no name, and no way through by address.
    expect((await sh(spy.id, 'nslookup web')).out).not.toContain(webIp);
    expect((await sh(spy.id, `ping -c 1 -W 2 ${webIp}`)).code).not.toBe(0);
    expect((await sh(web.id, `ping -c 1 -W 2 ${spy.networkSettings.networks[0]!.ipAddress}`)).code).not.toBe(0);
    for (const c of [web, db, spy]) await f.engine.remove(f.ctx, c.id, { force: true });
  });

  itNet('-p 127.0.0.1:PORT:80 reaches busybox httpd in the container from the host; inspect and ps show the binding', async () => {
    const port = await freePort();
    const c = await runD({ name: 'httpd', publish: [`127.0.0.1:${port}:80`] }, [
      'sh',
      '-c',
      'echo hello-from-httpd > /tmp/index.html; exec httpd -f -p 80 -h /tmp',
    ]);
    expect(c.networkSettings.ports).toEqual([{ hostIp: '127.0.0.1', hostPort: port, containerPort: 80, proto: 'tcp' }]);
    expect(c.hostConfig.portBindings).toEqual([{ hostIp: '127.0.0.1', hostPort: port, containerPort: 80, proto: 'tcp' }]);
    expect(c.networkSettings.networks[0]).toMatchObject({ networkName: 'bridge', ifName: 'eth0', ipPrefixLen: 24 });
    expect(await until('the published port', () => httpBody(port).catch(() => undefined))).toBe('hello-from-httpd\n');
    const [row] = (await f.engine.list(f.ctx)).filter((x) => x.id === c.id);
    expect(formatPorts(row!.ports)).toBe(`127.0.0.1:${port}->80/tcp`);
    expect(row!.networks).toEqual(['bridge']);
    // Stopped: the port is free and the address released.
    await f.engine.stop(f.ctx, c.id, { timeout: 1 });
    expect((await f.engine.inspect(f.ctx, c.id)).networkSettings).toEqual({ mode: 'bridge', sandboxKey: '', networks: [], ports: [] });
    await expect(httpBody(port)).rejects.toThrow();
    expect(leases(ipam()).filter((l) => l.startsWith('bridge/'))).toEqual([]);
    // Started again: mapped again.
    await f.engine.start(f.ctx, c.id);
    expect(await until('the published port', () => httpBody(port).catch(() => undefined))).toBe('hello-from-httpd\n');
    await f.engine.remove(f.ctx, c.id, { force: true });
    await expect(httpBody(port)).rejects.toThrow();
  });

  itNet('-P publishes the exposed ports on free host ports; a port already published is refused', async () => {
    const a = await runD({ name: 'pa', exposedPorts: ['8080/tcp'], publishAll: true }, ['sh', '-c', 'echo P > /tmp/index.html; exec httpd -f -p 8080 -h /tmp']);
    const [p] = a.networkSettings.ports;
    expect(p).toMatchObject({ hostIp: '127.0.0.1', containerPort: 8080, proto: 'tcp' });
    expect(await until('the -P port', () => httpBody(p!.hostPort).catch(() => undefined))).toBe('P\n');
    const b = await f.engine.create(f.ctx, { image: 'busybox', name: 'pb', cmd: ['sleep', '10'], publish: [`127.0.0.1:${p!.hostPort}:80`] });
    await expect(f.engine.start(f.ctx, b.id)).rejects.toMatchObject({ kind: 'AlreadyExists', message: expect.stringContaining('port is already allocated') });
    expect((await f.engine.inspect(f.ctx, b.id)).state.status).toBe('created');
    for (const c of [a, b]) await f.engine.remove(f.ctx, c.id, { force: true });
  });

  itNet('container:x shares x network namespace (and its hosts and resolv.conf); it needs x running', async () => {
    await f.engine.createNetwork(f.ctx, { name: 'pair' });
    const x = await runD({ name: 'xa', network: 'pair' });
    const y = await runD({ name: 'yb', network: 'container:xa' });
    expect(y.hostConfig.networkMode).toBe(`container:${x.id}`);
    const pid = (id: string) => f.part(TASKS).get(f.ctx, id).pid;
    expect(readlinkSync(`/proc/${pid(y.id)}/ns/net`)).toBe(readlinkSync(`/proc/${pid(x.id)}/ns/net`));
    expect((await sh(y.id, 'ip -4 -o addr show eth0')).out).toContain(x.networkSettings.networks[0]!.ipAddress);
    expect((await sh(y.id, 'cat /etc/resolv.conf')).out).toBe((await sh(x.id, 'cat /etc/resolv.conf')).out);
    await expect(f.engine.create(f.ctx, { image: 'busybox', network: 'container:xa', publish: ['80'] })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await f.engine.remove(f.ctx, y.id, { force: true });
    await f.engine.stop(f.ctx, x.id, { timeout: 0 });
    const z = await f.engine.create(f.ctx, { image: 'busybox', cmd: ['true'], network: 'container:xa' });
    await expect(f.engine.start(f.ctx, z.id)).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringContaining('non-running container') });
    for (const c of [z, x]) await f.engine.remove(f.ctx, c.id, { force: true });
  });

  itNet('network connect/disconnect of a running container: eth1 appears with the other network name, then goes', async () => {
    const a = await runD({ name: 'roam', network: 'shop' });
    const b = await runD({ name: 'peer', network: 'office' });
    await f.engine.connect(f.ctx, 'office', 'roam', { aliases: ['wanderer'] });
    const live = (await f.engine.inspect(f.ctx, 'roam')).networkSettings.networks;
    expect(live.map((n) => [n.networkName, n.ifName])).toEqual([
      ['shop', 'eth0'],
      ['office', 'eth1'],
    ]);
    expect((await sh(b.id, 'ping -c 1 -W 2 wanderer')).code).toBe(0);
    expect((await f.engine.inspectNetwork(f.ctx, 'office')).containers[a.id]).toMatchObject({ name: 'roam' });
    await expect(f.engine.removeNetwork(f.ctx, 'office')).rejects.toMatchObject({ kind: 'FailedPrecondition' });
    await f.engine.disconnect(f.ctx, 'office', 'roam');
    expect((await sh(a.id, 'ip -o link show')).out).not.toContain('eth1');
    expect((await sh(b.id, 'ping -c 1 -W 2 wanderer')).code).not.toBe(0);
    // Kept with the container: connected while stopped, it is on both after the next start.
    await f.engine.stop(f.ctx, a.id, { timeout: 0 });
    await f.engine.connect(f.ctx, 'office', 'roam');
    await f.engine.start(f.ctx, a.id);
    expect((await f.engine.inspect(f.ctx, 'roam')).networkSettings.networks.map((n) => n.networkName)).toEqual(['shop', 'office']);
    for (const c of [a, b]) await f.engine.remove(f.ctx, c.id, { force: true });
  });

  itNet('--rm with -p: once wait removed resolves, its network is gone too (veth, address, port mapping, names)', async () => {
    const [before, leases0] = [new HostBaseline(), leases(ipam())];
    const port = await freePort();
    const c = await f.engine.create(f.ctx, { image: 'busybox', cmd: ['true'], autoRemove: true, publish: [`127.0.0.1:${port}:80`] });
    const removed = f.engine.wait(f.ctx, c.id, 'removed');
    await f.engine.start(f.ctx, c.id);
    await removed;
    expect(before.leftovers(ipam())).toEqual({ leases: leases0, veths: [], rules: [] });
  });

  itNet('addresses are released at rm and when the container dies, and reused; a fixed --ip is free again after rm', async () => {
    const tiny = await f.engine.createNetwork(f.ctx, { name: 'tiny', subnet: tinySubnet() });
    const ip = tiny.subnet.replace(/0\/29$/, '4');
    const seen = new Set<string>();
    for (let i = 0; i < 7; i++) {
      const c = await runD({ network: 'tiny' }, ['true']);
      await f.engine.wait(f.ctx, c.id);
      seen.add(c.networkSettings.networks[0]?.ipAddress ?? '');
      expect(leases(ipam()).filter((l) => l.startsWith('tiny/'))).toEqual([]); // it exited: released
      await f.engine.remove(f.ctx, c.id);
    }
    expect(seen.size).toBe(5);
    const fixed = await runD({ network: 'tiny', ip });
    expect(fixed.networkSettings.networks[0]!.ipAddress).toBe(ip);
    // A crash (SIGKILL of its process) releases too.
    execFileSync('kill', ['-9', String(fixed.state.pid)]);
    await f.engine.wait(f.ctx, fixed.id);
    expect(leases(ipam()).filter((l) => l.startsWith('tiny/'))).toEqual([]);
    await f.engine.remove(f.ctx, fixed.id);
    const again = await runD({ network: 'tiny', ip });
    expect(again.networkSettings.networks[0]!.ipAddress).toBe(ip);
    await f.engine.remove(f.ctx, again.id, { force: true });
  });

  itNet(
    '30 containers run and removed in parallel leave no veth, no lease and no rule',
    async () => {
      const cs = await Promise.all(Array.from({ length: 30 }, (_, i) => runD({ name: `par${i}`, network: 'shop', publish: ['127.0.0.1::80'] })));
      expect(new Set(cs.map((c) => c.networkSettings.networks[0]!.ipAddress)).size).toBe(30);
      expect(leases(ipam()).filter((l) => l.startsWith('shop/'))).toHaveLength(30);
      await Promise.all(cs.map((c) => f.engine.remove(f.ctx, c.id, { force: true })));
      expect(await f.engine.pruneNetworks(f.ctx)).toEqual(expect.arrayContaining(['shop', 'office', 'pair', 'tiny']));
      expect(leftovers()).toEqual({ leases: [], veths: [], rules: [] });
    },
    300_000,
  );
});

/** A /29 (five addresses) in this daemon's pool. */
function tinySubnet(): string {
  const net = JSON.parse(readFileSync(join(f.dirs.dir, 'test-network.json'), 'utf8')) as { pool: string };
  const [a, b] = net.pool.split('.');
  return `${a}.${b}.200.0/29`;
}
