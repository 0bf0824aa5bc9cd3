/**
 * For networking tests: names and subnets no one else on this machine uses, and what a test
 * must find unchanged after it (veths on its bridges, host-local reservations, iptables rules).
 * Traffic in these tests goes only to loopback and to the test's own namespaces.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { requirement, requireRoot, requireTool, type Requirement } from './requires';

/** What a test that runs the CNI plugins needs. */
export function requireCni(): Requirement[] {
  const missing = ['bridge', 'host-local', 'portmap', 'firewall', 'loopback'].filter((p) => !existsSync(join('/usr/lib/cni', p)));
  return [
    requireRoot(),
    requireTool('ip', 'iptables', 'iptables-save', 'unshare', 'nsenter', 'umount'),
    requirement(
      'CNI plugins',
      missing.length
        ? `needs CNI plugins ${missing.join(', ')} in /usr/lib/cni: apt-get install containernetworking-plugins (scripts/install-deps.sh)`
        : undefined,
    ),
  ];
}

let seq = 0;
/** Tests run in pid namespaces of their own (tools/isolate), so pids repeat across runs: a random part too. */
const RUN = randomBytes(4).readUInt32BE(0).toString(36).slice(0, 4);
/** A name unique to this run: `<prefix><random><seq>` (at most 15 chars for links). */
export function uniqueName(prefix: string, max = 15): string {
  const s = `${prefix}${RUN}${(seq++).toString(36)}`;
  if (s.length > max) throw new Error(`name ${s} longer than ${max}`);
  return s;
}

const ipNum = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0) >>> 0;

function routes(): Array<{ base: number; len: number }> {
  let text: string;
  try {
    text = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  } catch {
    return []; // no iproute2 (a unit test's daemon never makes a network)
  }
  return text
    .split('\n')
    .map((l) => /^(?:\S+\s+)?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?\s/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ base: ipNum(m[1]), len: Number(m[2] ?? 32) }));
}

const taken = new Set<string>();
const OFFSET = randomBytes(1)[0]!;
/**
 * A `10.<second>.0.0/16` block that no route on this host touches, from 10.200–10.249 by pid, for
 * a test's address pool (one per call).
 */
export function freePool(): string {
  const rs = routes();
  for (let i = 0; i < 50; i++) {
    const second = 200 + ((OFFSET + i + taken.size * 7) % 50);
    const cidr = `10.${second}.0.0/16`;
    if (taken.has(cidr)) continue;
    const base = ipNum(`10.${second}.0.0`);
    const overlaps = rs.some((r) => {
      const l = Math.min(16, r.len);
      const mask = l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0;
      return (base & mask) >>> 0 === (r.base & mask) >>> 0;
    });
    if (!overlaps) {
      taken.add(cidr);
      return cidr;
    }
  }
  throw new Error('no free 10.x.0.0/16 pool for the test');
}

/** iptables-save of the filter and nat tables without counters and comment lines, one rule a line. */
export function iptablesRules(): string[] {
  return execFileSync('iptables-save', [], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l && !l.startsWith('#') && l !== 'COMMIT')
    .map((l) => l.replace(/\[\d+:\d+\]/g, '').trim());
}

/**
 * Chains and rules the plugins create once and share with every CNI user on the host (the
 * firewall plugin's CNI-FORWARD, portmap's CNI-HOSTPORT-*): never removed by anyone, so not a
 * leak when they appear.
 */
const SHARED = [
  /^:CNI-FORWARD /,
  /^-A FORWARD .*-j CNI-FORWARD$/,
  /^:CNI-HOSTPORT-(DNAT|MASQ|SETMARK) /,
  /^-A (PREROUTING|OUTPUT) -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT$/,
  /^-A POSTROUTING .*-j CNI-HOSTPORT-MASQ$/,
  /^-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000\/0x2000 -j MASQUERADE$/,
  /^-A CNI-HOSTPORT-SETMARK .*-j MARK --set-xmark 0x2000\/0x2000$/,
];

/** Rules in `after` that were not in `before`, less the shared ones. */
export function newRules(before: readonly string[], after: readonly string[]): string[] {
  const had = new Set(before);
  return after.filter((l) => !had.has(l) && !l.startsWith('*') && !SHARED.some((re) => re.test(l)));
}

/**
 * The host's veths and iptables rules before a test, to tell afterwards what it left: addresses
 * still held in an ipam dir, new veths, and new rules but those `keep` accepts (a test berthd's own
 * chains, which stay while its networks do).
 */
export class HostBaseline {
  private readonly rulesBefore = iptablesRules();
  private readonly vethsBefore = new Set(veths());

  leftovers(ipamDir: string, keep: (rule: string) => boolean = () => false): { leases: string[]; veths: string[]; rules: string[] } {
    return {
      leases: leases(ipamDir),
      veths: veths().filter((v) => !this.vethsBefore.has(v)),
      rules: newRules(this.rulesBefore, iptablesRules()).filter((l) => !keep(l)),
    };
  }
}

/**
 * A rule of a test berthd's own chains (testNetworkConfig's `BTD…` prefix: -1, -2, -F, -M, -P),
 * which stay while its networks do; not a container's published port (a DNAT rule in -P).
 */
export const testChainRule = (l: string): boolean => / BTD\S*-[12FMPL] |^:BTD|-j BTD/.test(l) && !/ -j DNAT |"berth port /.test(l);

/** Links enslaved to a bridge (its veths). */
export function portsOf(bridge: string): string[] {
  const dir = `/sys/class/net/${bridge}/brif`;
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Every veth on the host. */
export function veths(): string[] {
  return readdirSync('/sys/class/net').filter((n) => {
    try {
      return readFileSync(`/sys/class/net/${n}/uevent`, 'utf8').includes('DEVTYPE=veth') || existsSync(`/sys/class/net/${n}/peer`);
    } catch {
      return false;
    }
  });
}

/** host-local's reservations in a data dir: one file per leased address. */
export function leases(ipamDir: string): string[] {
  if (!existsSync(ipamDir)) return [];
  const out: string[] = [];
  for (const net of readdirSync(ipamDir)) {
    const d = join(ipamDir, net);
    for (const f of readdirSync(d)) if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) out.push(`${net}/${f}`);
  }
  return out;
}

/**
 * Runs a command inside a pinned network namespace. Asynchronous on purpose: the servers it talks
 * to (berthd's resolver in a test's own process) must keep running meanwhile.
 */
export function inNetns(path: string, cmd: string[], timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('nsenter', [`--net=${path}`, ...cmd], { encoding: 'utf8', timeout: timeoutMs }, (e, stdout, stderr) => {
      const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
/** The bridge plugin turns IPv4 forwarding on; a test puts back what it found. */
export function saveIpForward(): () => void {
  const before = readFileSync(IP_FORWARD, 'utf8').trim();
  return () => writeFileSync(IP_FORWARD, before);
}

/**
 * berthd's network config for a test daemon: a default bridge, address pool and isolation chains
 * of its own, a resolv.conf in the test dir (a loopback server only: containers on the default
 * network get Docker's public fallback, so tests must not look names up there), and no DNS
 * upstreams (berthd's resolver forwards nothing).
 */
export function testNetworkConfig(dir: string): TestNetworkConfig {
  const saved = join(dir, 'test-network.json');
  if (existsSync(saved)) return JSON.parse(readFileSync(saved, 'utf8')) as TestNetworkConfig; // the same across restarts
  const pool = freePool();
  const [a, b] = pool.split('.');
  const resolvConf = join(dir, 'host-resolv.conf');
  writeFileSync(resolvConf, 'nameserver 127.0.0.1\n');
  const cfg = {
    pool,
    defaultSubnet: `${a}.${b}.0.0/24`,
    defaultBridge: uniqueName('btd'),
    isolationChain: uniqueName('BTD', 20).toUpperCase(),
    dnsUpstreams: [] as string[],
    resolvConf,
  };
  writeFileSync(saved, JSON.stringify(cfg));
  return cfg;
}

export interface TestNetworkConfig {
  pool: string;
  defaultSubnet: string;
  defaultBridge: string;
  isolationChain: string;
  dnsUpstreams: string[];
  resolvConf: string;
}

/** Takes back what a test daemon's networking left on the host: its default bridge and iptables chains (berthd keeps them by design). */
export function removeTestNetworking(cfg: { defaultBridge: string; isolationChain: string }): void {
  const ipt = (args: string[]) => {
    try {
      execFileSync('iptables', ['-w', ...args], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  try {
    execFileSync('ip', ['link', 'del', cfg.defaultBridge], { stdio: 'ignore' });
  } catch {
    /* never made */
  }
  const [s1, s2, fwd, masq, pub] = ['-1', '-2', '-F', '-M', '-P'].map((s) => `${cfg.isolationChain}${s}`) as [string, string, string, string, string];
  while (ipt(['-D', 'CNI-FORWARD', '-m', 'comment', '--comment', 'CNI firewall plugin admin overrides', '-j', s1]));
  while (ipt(['-D', 'FORWARD', '-j', fwd]));
  while (ipt(['-t', 'nat', '-D', 'POSTROUTING', '-j', masq]));
  for (const hook of ['PREROUTING', 'OUTPUT']) while (ipt(['-t', 'nat', '-D', hook, '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', pub]));
  for (const c of [fwd, s1, s2]) if (ipt(['-F', c])) ipt(['-X', c]);
  for (const c of [masq, pub]) if (ipt(['-t', 'nat', '-F', c])) ipt(['-t', 'nat', '-X', c]);
  const guard = `${cfg.isolationChain}-L`;
  while (ipt(['-t', 'raw', '-D', 'PREROUTING', '-j', guard]));
  if (ipt(['-t', 'raw', '-F', guard])) ipt(['-t', 'raw', '-X', guard]);
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * A UDP client on 127.0.0.1 that keeps one source port, as a real one does, sending to
 * 127.0.0.1:`port` (the stale-flow tests of published UDP ports).
 */
export async function udpClient(port: number): Promise<{ sourcePort: number; send(msg: string): Promise<void>; close(): void }> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return {
    sourcePort: s.address().port,
    send: (msg) => new Promise<void>((r) => s.send(msg, port, '127.0.0.1', () => r())),
    close: () => s.close(),
  };
}

/** A `node -e` script that prints the first UDP datagram to `port` and exits; exits 2 if none comes in 8 s. */
export const udpReceiveScript = (port: number) =>
  `const s = require('dgram').createSocket('udp4'); s.on('message', (m) => { process.stdout.write(m); process.exit(0); }); s.bind(${port}); setTimeout(() => process.exit(2), 8000)`;

/** Whether this process can listen on 127.0.0.1:port now (false while berthd holds it for a mapping). */
export function canBind(port: number): Promise<boolean> {
  return new Promise<boolean>((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** A real HTTP GET (node:http) of http://host:port/path: status and body. */
export function httpGet(port: number, o: { host?: string; path?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: o.host ?? '127.0.0.1', port, path: o.path ?? '/', timeout: o.timeoutMs ?? 3000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** The body of GET http://127.0.0.1:port/path. */
export async function httpBody(port: number, path = '/'): Promise<string> {
  return (await httpGet(port, { path })).body;
}
