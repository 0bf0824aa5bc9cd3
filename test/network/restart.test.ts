/**
 * What berthd's crashes and bursts must not break: a process holding the sandboxes is SIGKILLed
 * (its containers keep their addresses and port mappings meanwhile), and the next one keeps the
 * sandboxes of containers still running (names resolve again, ports held again) and takes down
 * the rest exactly; 30 containers attached and detached in parallel leave no veth, no lease and
 * no iptables rule behind.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NetworkSettings } from '../../src/engine/network';
import { canBind, httpBody, leases, portsOf, requireCni, uniqueName } from '../helpers/net';
import { until } from '../helpers/until';
import { describeWith, requireTool } from '../helpers/requires';
import { NetFixture } from './fixture';

const CHILD = resolve(__dirname, 'fixtures', 'attach-and-wait.js');

describeWith(...requireCni(), requireTool('busybox'))('network restart and bursts', () => {
  const f = new NetFixture();
  beforeAll(() => f.setup(), 60_000);
  afterAll(() => f.teardown(), 180_000);

  it('SIGKILL of the process holding the sandboxes: running ones keep working and are kept by the next; a dead one is taken down exactly', async () => {
    await f.m.createNetwork({ name: 'crash' });
    const www = join(f.dir, 'www');
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), 'still here\n');
    const base = uniqueName('k', 40);
    const containers = [
      { id: `${base}a`, name: 'srv', config: await f.prepare({ mode: 'crash', publish: ['127.0.0.1::80'] }) },
      { id: `${base}b`, name: 'cli', config: await f.prepare({ mode: 'crash' }) },
      { id: `${base}c`, name: 'dies', config: await f.prepare({ mode: 'crash' }) },
    ];
    // The manager in this process steps aside (as berthd would not run twice).
    await f.m.close();
    const child = spawn(process.execPath, [CHILD, JSON.stringify({ ...f.options(), log: undefined }), JSON.stringify(containers)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    await until(
      'the child attached',
      () => {
        if (child.exitCode !== null) throw new Error(`child exited: ${err}`);
        return out.includes('\n');
      },
      60_000,
    );
    const settings = JSON.parse(out) as Record<string, NetworkSettings>;
    const srv = settings[`${base}a`]!;
    const cli = settings[`${base}b`]!;
    const port = srv.ports[0]!.hostPort;
    f.spawnIn(srv.sandboxKey, ['busybox', 'httpd', '-f', '-p', '80', '-h', www]);
    expect(await until('httpd', () => httpBody(port, '/index.html').catch(() => undefined))).toBe('still here\n');
    const gw = cli.networks[0]!.gateway;
    expect((await f.run(cli.sandboxKey, ['busybox', 'nslookup', 'srv', gw])).stdout).toContain(`Address: ${srv.networks[0]!.ipAddress}`);

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // berthd is down: the mapping and the address stay (they are the kernel's); only names wait.
    expect(await httpBody(port, '/index.html')).toBe('still here\n');
    expect(await canBind(port)).toBe(true); // the hold died with the process

    const m2 = await (async () => {
      const { NetworkManager } = await import('../../src/engine/network');
      const m = new NetworkManager(f.options());
      await m.open();
      f.managers.push(m);
      return m;
    })();
    const running = new Set([`${base}a`, `${base}b`]);
    expect(await m2.restore((id) => running.has(id))).toEqual({ kept: 2, released: 1 });
    expect(m2.settings(`${base}a`)!.ports[0]!.hostPort).toBe(port);
    expect(m2.settings(`${base}c`)).toBeUndefined();
    expect(await canBind(port)).toBe(false); // held again
    expect((await f.run(cli.sandboxKey, ['busybox', 'nslookup', 'srv', gw])).stdout).toContain(`Address: ${srv.networks[0]!.ipAddress}`);
    expect((await f.run(cli.sandboxKey, ['busybox', 'nslookup', 'dies', gw])).stdout).not.toContain('Address: 1');
    const bridge = m2.inspectNetwork('crash').bridge;
    expect(portsOf(bridge)).toHaveLength(2);
    expect(leases(join(f.dir, 'state', 'network', 'ipam')).sort()).toEqual(
      [`crash/${srv.networks[0]!.ipAddress}`, `crash/${cli.networks[0]!.ipAddress}`].sort(),
    );
    expect(await m2.netns.list()).toEqual(expect.arrayContaining([`${base}a`, `${base}b`]));
    expect(await m2.netns.list()).not.toContain(`${base}c`);

    // Later the containers stop: everything goes.
    await m2.detach(`${base}a`);
    await m2.detach(`${base}b`);
    await expect(httpBody(port, '/index.html')).rejects.toThrow();
    expect(f.leftovers()).toEqual({ leases: [], veths: [], rules: [] });
    f.m = m2;
  }, 120_000);

  it('30 containers attached and detached in parallel leave no veth, no lease and no rule', async () => {
    await f.m.createNetwork({ name: 'burst' });
    const cfg = await f.prepare({ mode: 'burst', publish: ['127.0.0.1::8080'] });
    const base30 = uniqueName('b', 40);
    const ids = Array.from({ length: 30 }, (_, i) => `${base30}x${i}`);
    const t0 = Date.now();
    const all = await Promise.all(ids.map((id, i) => f.m.attach({ id, ns: 'default', name: `burst${i}`, hostname: `burst${i}` }, cfg)));
    const attachMs = Date.now() - t0;
    expect(new Set(all.map((s) => s.networks[0]!.ipAddress)).size).toBe(30);
    expect(new Set(all.map((s) => s.ports[0]!.hostPort)).size).toBe(30);
    expect(portsOf(f.m.inspectNetwork('burst').bridge)).toHaveLength(30);
    expect(leases(join(f.dir, 'state', 'network', 'ipam')).filter((l) => l.startsWith('burst/'))).toHaveLength(30);
    const t1 = Date.now();
    await Promise.all(ids.map((id) => f.m.detach(id)));
    const detachMs = Date.now() - t1;
    process.stderr.write(`30 in parallel: attach ${attachMs} ms, detach ${detachMs} ms (load ${loadavg()[0]!.toFixed(1)})\n`);
    expect(f.leftovers()).toEqual({ leases: [], veths: [], rules: [] });
    expect(await f.m.netns.list()).toEqual([]);
  }, 300_000);
});
