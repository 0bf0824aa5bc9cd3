/**
 * `ctr run --cni`: ctr does the networking itself. After Tasks/Create it runs the CNI plugins on
 * /proc/<task pid>/ns/net, starts the task, and (foreground only) tears the network down after the
 * task exits. berthd's part is a task pid, right after Create, whose network namespace is the
 * container's. Uses Debian's containernetworking-plugins with a private bridge network.
 */
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { cniMissing, CniBridge } from '../helpers/cni';
import { CTR_ROOT, CtrFixture, IMG, NO_LEAKS } from '../tasks/ctr-fixture';
import { itWith, met, requirement } from '../helpers/requires';

const NEEDS = [...CTR_ROOT, requirement('CNI plugins', cniMissing())];
const itCni = itWith(...NEEDS);

const f = new CtrFixture('cni');
let net: CniBridge | undefined;
const netnsBefore = readdirSync('/run').includes('netns') ? readdirSync('/run/netns') : [];

beforeAll(async () => {
  if (!met(...NEEDS)) return;
  await f.setup();
  net = new CniBridge();
  net.install();
}, 120_000);
afterAll(async () => {
  if (!met(...NEEDS)) return;
  try {
    await f.teardown();
  } finally {
    net?.remove();
  }
}, 60_000);

const inSubnet = (addr: string) => addr.startsWith(net!.subnet.replace(/0\/24$/, ''));

/** Reads what the container's server writes to the first connection. */
function readFrom(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = connect({ host, port });
    const t = setTimeout(() => (s.destroy(), reject(new Error(`no answer from ${host}:${port}`))), timeoutMs);
    s.on('data', (b) => (out += b.toString()));
    s.on('error', (e) => (clearTimeout(t), reject(e)));
    s.on('close', () => (clearTimeout(t), resolve(out)));
  });
}

describe('ctr run --cni', () => {
  itCni('--rm: eth0 gets an address from the bridge network, released after the run', async () => {
    const r = await f.ctr(['run', '--rm', '--cni', IMG, 'cni-rm', 'ip', '-4', '-o', 'addr', 'show']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const eth0 = r.stdout.split('\n').find((l) => /^\d+:\s+eth0\s+inet\s/.test(l));
    expect(eth0).toBeDefined();
    const addr = / inet (\d+\.\d+\.\d+\.\d+)\/24 /.exec(eth0!)![1];
    expect(inSubnet(addr)).toBe(true);
    expect(addr).not.toBe(net!.gateway);
    // ctr ran CNI DEL after the task exited: host-local gave the address back.
    expect(net!.leases()).toEqual([]);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCni('--rm with --uidmap/--gidmap: the network namespace the user namespace owns gets eth0 too', async () => {
    const maps = ['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536'];
    const r = await f.ctr(['run', '--rm', '--cni', ...maps, IMG, 'cni-userns', 'sh', '-c', 'id -u; ip -4 -o addr show eth0']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [uid, eth0] = r.stdout.split('\n');
    expect(uid).toBe('0');
    expect(inSubnet(/ inet (\d+\.\d+\.\d+\.\d+)\/24 /.exec(eth0)![1])).toBe(true);
    expect(net!.leases()).toEqual([]);
    expect(await f.leaks()).toEqual(NO_LEAKS);
  });

  itCni('-d: the host reaches the container over the bridge and the container reaches the gateway', async () => {
    const id = 'cni-d';
    const serve = 'while true; do echo hello-from-container | nc -l -p 7777; done';
    expect(await f.ctr(['run', '-d', '--cni', IMG, id, 'sh', '-c', serve])).toMatchObject({ code: 0, stderr: '' });
    try {
      const leases = net!.leases();
      expect(leases).toHaveLength(1);
      const addr = leases[0];
      expect(inSubnet(addr)).toBe(true);
      const shown = await f.ctr(['task', 'exec', '--exec-id', 'addr', id, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
      expect(shown.stdout).toContain(` inet ${addr}/24 `);

      let answer = '';
      for (let i = 0; i < 50 && answer === ''; i++) {
        answer = await readFrom(addr, 7777).catch(() => '');
        if (answer === '') await new Promise((r) => setTimeout(r, 100));
      }
      expect(answer).toBe('hello-from-container\n');

      const ping = await f.ctr(['task', 'exec', '--exec-id', 'ping', id, 'ping', '-c', '1', '-W', '3', net!.gateway]);
      expect(ping.code).toBe(0);
      expect(ping.stdout).toContain('1 packets received');

      expect((await f.ctr(['task', 'kill', '-s', 'SIGKILL', id])).code).toBe(0);
      for (let i = 0; i < 100 && (await f.ctr(['task', 'ls'])).stdout.includes('RUNNING'); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await f.ctr(['task', 'rm', '-f', id]);
      await f.ctr(['containers', 'rm', id]);
    }
    expect(await f.leaks()).toEqual(NO_LEAKS);
    // ctr never names the namespace: nothing appears under /run/netns.
    expect(readdirSync('/run').includes('netns') ? readdirSync('/run/netns') : []).toEqual(netnsBefore);
  });
});
