/**
 * A berthd SIGKILL with containers on a user network: while no berthd runs, their addresses and
 * published ports keep working (the kernel's), one container exits; the next berthd keeps the
 * running ones' networking (names resolve again, the port is held again), takes down the one
 * that died (its lease, veth and rules), and later tears the rest down exactly.
 */
import { join } from 'node:path';
import { runAndKillBerthd } from '../helpers/child-berthd';
import { testDirs } from '../helpers/daemon';
import { drain, EngineFixture, until } from '../helpers/engine';
import { canBind, freePort, HostBaseline, httpBody, leases, requireCni, testChainRule } from '../helpers/net';
import { itWith } from '../helpers/requires';

const f = new EngineFixture('engnetcrash');
const itNet = itWith(...requireCni());

afterAll(() => f.teardown(), 60_000);

describe('engine: networking across a berthd crash', () => {
  itNet(
    'SIGKILL: running containers keep their network, the next berthd keeps it and serves names again; the dead one is taken down',
    async () => {
      const host = new HostBaseline();
      const dirs = await testDirs('berth-engine-');
      await f.setup(dirs);
      await f.addImage();
      await f.stop();
      const port = await freePort();
      const ips = await runAndKillBerthd<Record<string, string>>(
        dirs,
        f.ns,
        `await engine.createNetwork(ctx, { name: 'keep' });
        const ids = {};
        for (const [name, cmd, extra] of [
          ['srv', 'echo up > /tmp/index.html; exec httpd -f -p 80 -h /tmp', { publish: ['127.0.0.1:${port}:80'] }],
          ['cli', 'exec sleep 1000', {}],
          ['gone', 'sleep 1; exit 3', {}],
        ]) {
          const c = await engine.create(ctx, { image: 'busybox', name, network: 'keep', cmd: ['sh', '-c', cmd], ...extra });
          await engine.start(ctx, c.id);
          ids[name] = (await engine.inspect(ctx, c.id)).networkSettings.networks[0].ipAddress;
        }
        return ids;`,
      );

      // No berthd: the mapping still answers; `gone` exits meanwhile.
      expect(await until('httpd', () => httpBody(port).catch(() => undefined))).toBe('up\n');
      await new Promise((r) => setTimeout(r, 1500));

      await f.setup(dirs);
      expect((await f.engine.inspect(f.ctx, 'gone')).state).toMatchObject({ status: 'exited', exitCode: 3 });
      const srv = await f.engine.inspect(f.ctx, 'srv');
      expect(srv.state.status).toBe('running');
      expect(srv.networkSettings.networks[0]!.ipAddress).toBe(ips.srv);
      expect(srv.networkSettings.ports[0]!.hostPort).toBe(port);
      expect(await httpBody(port)).toBe('up\n');
      expect(await canBind(port)).toBe(false); // held again by this berthd
      const e = await f.engine.exec(f.ctx, 'cli', { cmd: ['sh', '-c', 'ping -c 1 -W 2 srv'] });
      const r = await drain(e.events());
      expect(r.stdout).toContain(`(${ips.srv})`);
      expect(r.exitCode).toBe(0);
      const ipam = join(dirs.state, 'network', 'ipam');
      expect(leases(ipam).sort()).toEqual([`keep/${ips.cli}`, `keep/${ips.srv}`].sort());

      // Later: all of it goes.
      for (const n of ['srv', 'cli', 'gone']) await f.engine.remove(f.ctx, n, { force: true });
      await f.engine.removeNetwork(f.ctx, 'keep');
      await expect(httpBody(port)).rejects.toThrow();
      expect(host.leftovers(ipam, testChainRule)).toEqual({ leases: [], veths: [], rules: [] });
    },
    120_000,
  );
});
