/**
 * Issue 17's acceptance through the built `berth` binary (`node dist/cli/bin.js`, as a user
 * without a run bit starts it) against a real berthd: `network create` and two containers that
 * reach each other by name and alias while a third network is shut out, connect/disconnect of a
 * running container, `-p 127.0.0.1:P:80` and `-P` reached by a real HTTP client on the host and
 * shown in `ps`, `--network none` with only lo, the network verbs' output and errors, and nothing
 * left behind. Traffic goes only to loopback and to these containers.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../src/client';
import { REPO } from '../helpers/daemon';
import { EngineFixture, until } from '../helpers/engine';
import { freePort, HostBaseline, httpBody, requireCni, testChainRule, udpClient, udpReceiveScript } from '../helpers/net';
import { run } from '../helpers/ctr';
import { itWith, requireTool } from '../helpers/requires';

const f = new EngineFixture('clinet');
const itNet = itWith(...requireCni());
const BIN = join(REPO, 'dist', 'cli', 'bin.js');
let host: HostBaseline;

beforeAll(async () => {
  host = new HostBaseline();
  await f.setup();
  await f.addImage();
}, 120_000);
afterAll(() => f.teardown(), 120_000);

interface Result {
  code: number;
  out: string;
  err: string;
}

/** `berth ARGS` against the test's berthd and namespace. */
function berth(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, '--address', f.dirs.address, '--namespace', f.ns, ...args], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.once('error', reject);
    p.once('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code: code ?? (sig ? 128 : -1), out, err });
    });
    if (input !== undefined) p.stdin!.end(input);
  });
}

/** `berth ARGS` that must succeed; its stdout. */
async function ok(args: string[]): Promise<string> {
  const r = await berth(args);
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')}: exit ${r.code}\n${r.err}${r.out}`);
  return r.out;
}

/** `berth ARGS` until it exits 0 (a new container's name may take a moment to be served); the last result. */
async function eventually(args: string[], timeoutMs = 15_000): Promise<Result> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await berth(args);
    if (r.code === 0 || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}

const HTTPD = (text: string) => ['sh', '-c', `echo ${text} > /tmp/index.html; exec httpd -f -p 80 -h /tmp`];

describe('berth CLI: networking', () => {
  itNet('network create; two containers reach each other by name and alias, another network cannot; connect/disconnect a running one', async () => {
    const id = (await ok(['network', 'create', '--label', 'team=web', 'shop'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await ok(['network', 'create', 'office']);
    const dup = await berth(['network', 'create', 'shop']);
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/^Error response from daemon: .*shop.*already exists/);

    await ok(['run', '-d', '--name', 'web', '--network', 'shop', '--network-alias', 'www', 'busybox', ...HTTPD('hello-from-web')]);
    // By name and by alias, from a second container on the network (berthd's resolver on the gateway).
    // (No `wget -T`: Debian's static busybox wget segfaults with it.)
    for (const host of ['web', 'www']) {
      const r = await eventually(['run', '--rm', '--network', 'shop', 'busybox', 'wget', '-q', '-O', '-', `http://${host}/`]);
      expect(r).toMatchObject({ code: 0, out: 'hello-from-web\n' });
    }

    // `network inspect` lists it with its address; `ls` shows both networks; filters work.
    const [shop] = JSON.parse(await ok(['network', 'inspect', 'shop'])) as Array<{
      Id: string;
      Name: string;
      Labels: Record<string, string>;
      IPAM: { Config: Array<{ Subnet: string }> };
      Containers: Record<string, { Name: string; IPv4Address: string }>;
    }>;
    expect(shop).toMatchObject({ Id: id, Name: 'shop', Labels: { team: 'web' } });
    const webEntry = Object.values(shop!.Containers).find((c) => c.Name === 'web')!;
    const webIp = webEntry.IPv4Address.split('/')[0]!;
    expect(webEntry.IPv4Address).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    expect(await ok(['network', 'inspect', '--format', '{{.Name}} {{.Driver}}', 'shop', id.slice(0, 12)])).toBe('shop bridge\nshop bridge\n');
    const ls = await ok(['network', 'ls']);
    expect(ls.split('\n')[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(ls).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+shop\\s+bridge\\s+local$`, 'm'));
    expect(ls).toMatch(/\soffice\s+bridge\s+local$/m);
    expect(await ok(['network', 'ls', '-f', 'label=team=web', '--format', '{{.Name}}'])).toBe('shop\n');
    expect(await ok(['ps', '--format', '{{.Names}} {{.Networks}}'])).toBe('web shop\n');

    // Another network: neither the name nor the address reaches web.
    const spy = await berth([
      'run',
      '--rm',
      '--network',
      'office',
      'busybox',
      'sh',
      '-c',
      `nslookup web; timeout 3 wget -q -O - http://${webIp}/ && echo REACHED`,
    ]);
    expect(spy.out).not.toContain('REACHED');
    expect(spy.out).not.toContain(webIp);

    // connect: web is now on office too, by name; disconnect takes it off again at once.
    await ok(['network', 'connect', '--alias', 'shopweb', 'office', 'web']);
    const viaOffice = await eventually(['run', '--rm', '--network', 'office', 'busybox', 'wget', '-q', '-O', '-', 'http://shopweb/']);
    expect(viaOffice).toMatchObject({ code: 0, out: 'hello-from-web\n' });
    expect(await ok(['ps', '--format', '{{.Networks}}', '-f', 'name=web'])).toBe('shop,office\n');
    await ok(['network', 'disconnect', 'office', 'web']);
    const gone = await berth(['run', '--rm', '--network', 'office', 'busybox', 'timeout', '3', 'wget', '-q', '-O', '-', 'http://shopweb/']);
    expect(gone.code).not.toBe(0);
    const notOn = await berth(['network', 'disconnect', 'office', 'web']);
    expect(notOn).toMatchObject({ code: 1, err: expect.stringMatching(/^Error response from daemon: .*not connected/) });

    // In use: rm refuses; after the container goes, rm and prune remove them.
    const inUse = await berth(['network', 'rm', 'shop']);
    expect(inUse.code).toBe(1);
    expect(inUse.err).toMatch(/^Error response from daemon: .*(active endpoints|in use)/);
    await ok(['rm', '-f', 'web']);
    expect(await ok(['network', 'rm', 'shop', 'nosuchnet']).catch((e: Error) => e.message)).toMatch(
      /exit 1\nError response from daemon: .*nosuchnet.*not found\nshop\n$/,
    );
    expect(await ok(['network', 'rm', '-f', 'nosuchnet'])).toBe('');
    const missing = await berth(['network', 'inspect', 'shop']);
    expect(missing.code).toBe(1);
    expect(missing.out).toBe('[]\n');
    expect(missing.err).toMatch(/^Error response from daemon: .*shop.*not found/);
    expect(await berth(['network', 'prune'], 'n\n')).toMatchObject({ code: 0, out: expect.stringContaining('Are you sure you want to continue? [y/N]') });
    expect(await ok(['network', 'ls', '--format', '{{.Name}}'])).toContain('office\n');
    expect(await berth(['network', 'prune'], 'y\n')).toMatchObject({ code: 0, out: expect.stringContaining('Deleted Networks:\noffice\n') });
    expect(await ok(['network', 'ls', '--format', '{{.Name}}'])).not.toContain('office');
  });

  itNet('-p 127.0.0.1:P:80 and -P reach busybox httpd from the host with a real HTTP client; ps shows the ports', async () => {
    const port = await freePort();
    await ok(['run', '-d', '--name', 'pub', '-p', `127.0.0.1:${port}:80`, 'busybox', ...HTTPD('published')]);
    expect(await until('httpd via -p', () => httpBody(port).catch(() => undefined))).toBe('published\n');
    expect(await ok(['ps', '-f', 'name=pub', '--format', '{{.Names}}|{{.Ports}}'])).toBe(`pub|127.0.0.1:${port}->80/tcp\n`);
    const table = await ok(['ps']);
    expect(table.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(table).toMatch(new RegExp(`\\s127\\.0\\.0\\.1:${port}->80/tcp\\s+pub$`, 'm'));

    // The engine API beside it (the client library): inspect's NetworkSettings and port bindings.
    const client = new Client({ address: f.dirs.address, namespace: f.ns });
    try {
      const c = await client.engine.inspect({ container: 'pub' });
      expect(c.host_config?.port_bindings).toEqual([{ host_ip: '127.0.0.1', host_port: port, container_port: 80, proto: 'tcp' }]);
      expect(c.network_settings).toMatchObject({ mode: 'bridge', ports: [{ host_ip: '127.0.0.1', host_port: port, container_port: 80, proto: 'tcp' }] });
      expect(c.network_settings!.networks[0]).toMatchObject({
        network_name: 'bridge',
        if_name: 'eth0',
        ip_address: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/),
      });
      expect(c.network_settings!.sandbox_key).not.toBe('');
    } finally {
      client.close();
    }

    await ok(['run', '-d', '--name', 'pall', '--expose', '80', '-P', 'busybox', ...HTTPD('all-published')]);
    const ports = await ok(['ps', '-f', 'name=pall', '--format', '{{.Ports}}']);
    const m = /^127\.0\.0\.1:(\d+)->80\/tcp\n$/.exec(ports);
    expect(m).not.toBeNull();
    expect(await until('httpd via -P', () => httpBody(Number(m![1])).catch(() => undefined))).toBe('all-published\n');

    // The same host port twice is refused before anything runs; a bad spec is a usage error (125).
    const twice = await berth(['run', '-d', '--name', 'clash', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '100']);
    expect(twice.code).not.toBe(0);
    expect(twice.err).toMatch(new RegExp(`${port}`));
    const bad = await berth(['run', '--rm', '-p', '99999:80', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.err).toMatch(/99999/);
    await ok(['rm', '-f', 'pub', 'pall']);
    await berth(['rm', '-f', 'clash']);
    expect(
      await until(
        'port free again',
        async () =>
          (await httpBody(port).then(
            () => false,
            () => true,
          )) || undefined,
      ),
    ).toBe(true);
  });

  itNet('--network none has only lo; --network host sees the host; --dns/--add-host/--dns-search land in the files', async () => {
    const none = await ok(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"]);
    expect(none).toBe('lo\n');
    const ifaces = await ok(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort"]);
    // The host's: lo and the interface of its default route (a network namespace of its own has neither).
    const uplink = readFileSync('/proc/net/route', 'utf8')
      .split('\n')
      .map((l) => l.split('\t'))
      .find((c) => c[1] === '00000000')?.[0];
    expect(ifaces.trim().split('\n')).toEqual(expect.arrayContaining(['lo', ...(uplink ? [uplink] : [])]));
    expect(ifaces.trim().split('\n').length).toBeGreaterThan(1);
    const files = await ok([
      'run',
      '--rm',
      '--dns',
      '192.0.2.53',
      '--dns-search',
      'example.test',
      '--dns-option',
      'ndots:2',
      '--add-host',
      'db.example.test:192.0.2.7',
      'busybox',
      'sh',
      '-c',
      'cat /etc/resolv.conf /etc/hosts',
    ]);
    expect(files).toMatch(/^nameserver 192\.0\.2\.53$/m);
    expect(files).toMatch(/^search example\.test$/m);
    expect(files).toMatch(/^options ndots:2$/m);
    expect(files).toMatch(/^192\.0\.2\.7\s+db\.example\.test$/m);
    const ipOnDefault = await berth(['run', '--rm', '--ip', '10.1.2.3', 'busybox', 'true']);
    expect(ipOnDefault.code).toBe(125);
    expect(ipOnDefault.err).toMatch(/user-defined network/);
  });

  itWith(...requireCni(), requireTool('conntrack'))(
    '-p …/udp: a client that was already sending to the port reaches the container once it runs (berthd deletes the stale flow)',
    async () => {
      const port = await freePort();
      const client = await udpClient(port);
      try {
        await client.send('early'); // refused: its flow is what NAT would otherwise never look at again
        await ok(['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${port}:9999/udp`, 'busybox', 'sleep', '60']);
        const pid = (await ok(['inspect', '--format', '{{.State.Pid}}', 'udp'])).trim();
        // busybox has no UDP listener: a node one in the container's network namespace.
        const received = run('nsenter', ['-t', pid, '-n', process.execPath, '-e', udpReceiveScript(9999)], { timeoutMs: 15_000 });
        const ticker = setInterval(() => void client.send('hello'), 100);
        try {
          expect(await received).toMatchObject({ code: 0, stdout: 'hello' });
        } finally {
          clearInterval(ticker);
        }
      } finally {
        client.close();
        await berth(['rm', '-f', 'udp']);
      }
    },
  );

  itNet('nothing is left: no container, lease, veth or firewall rule', async () => {
    expect(await ok(['ps', '-a', '-q'])).toBe('');
    expect(host.leftovers(join(f.dirs.state, 'network', 'ipam'), testChainRule)).toEqual({ leases: [], veths: [], rules: [] });
  });
});
