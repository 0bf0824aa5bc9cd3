/**
 * A throw-away CNI bridge network for `ctr run --cni` tests. ctr 1.6 uses gocni's defaults: plugins
 * in /opt/cni/bin, the first config (by name) in /etc/cni/net.d, results and host-local IPAM state
 * under /var/lib/cni. install() records everything it adds; remove() takes back exactly that: the
 * conflist, the plugin symlinks and dirs it created, the bridge link, the IPAM state and result cache
 * of its network, and the ip_forward setting the bridge plugin turns on for a gateway.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const CNI_BIN = '/opt/cni/bin';
export const CNI_CONF = '/etc/cni/net.d';
export const CNI_STATE = '/var/lib/cni';
const DEBIAN_PLUGINS = '/usr/lib/cni';
const NEEDED = ['bridge', 'host-local'];
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** Why the plugins cannot be used here, or undefined when they can. */
export function cniMissing(): string | undefined {
  const missing = NEEDED.filter((p) => !existsSync(join(CNI_BIN, p)) && !existsSync(join(DEBIAN_PLUGINS, p)));
  return missing.length ? `CNI plugins missing (${missing.join(', ')}): install containernetworking-plugins` : undefined;
}

const ipNum = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

/** A 10.231.y.0/24 that overlaps no host route (other than the default route). */
function freeSubnet(): string {
  const routes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^(?:\S+\s+)?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?\s/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ base: ipNum(m[1]), len: Number(m[2] ?? 32) }));
  const overlaps = (base: number, len: number) =>
    routes.some((r) => {
      const l = Math.min(len, r.len);
      const mask = l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0;
      return (base & mask) >>> 0 === (r.base & mask) >>> 0;
    });
  for (let y = 0; y < 250; y++) {
    const third = (process.pid + randomBytes(1)[0]! + y) % 250;
    if (!overlaps(ipNum(`10.231.${third}.0`), 24)) return `10.231.${third}.0/24`;
  }
  throw new Error('no free 10.231.x.0/24 subnet');
}

/** Unique across the isolated test runs on this machine (each has its own pid namespace, so pids repeat). */
const UNIQUE = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;

export class CniBridge {
  readonly name = `berth-test-${UNIQUE}`;
  readonly bridge = `brt${UNIQUE}`.slice(0, 15);
  readonly subnet = freeSubnet();
  readonly gateway = this.subnet.replace(/0\/24$/, '1');
  private readonly conflist = join(CNI_CONF, `00-${this.name}.conflist`);
  private createdDirs: string[] = [];
  private createdLinks: string[] = [];
  private stateExisted = existsSync(CNI_STATE);
  private forwardBefore = readFileSync(IP_FORWARD, 'utf8').trim();

  private mkdirs(dir: string): void {
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = join(d, '..')) missing.unshift(d);
    for (const d of missing) {
      mkdirSync(d, { mode: 0o755 });
      this.createdDirs.push(d);
    }
  }

  install(): void {
    this.mkdirs(CNI_BIN);
    for (const p of existsSync(DEBIAN_PLUGINS) ? readdirSync(DEBIAN_PLUGINS) : []) {
      const link = join(CNI_BIN, p);
      if (existsSync(link)) continue;
      symlinkSync(join(DEBIAN_PLUGINS, p), link);
      this.createdLinks.push(link);
    }
    this.mkdirs(CNI_CONF);
    const others = readdirSync(CNI_CONF).filter((f) => /\.(conf|conflist|json)$/.test(f) && f < `00-${this.name}.conflist`);
    if (others.length) throw new Error(`${CNI_CONF} already holds ${others.join(', ')}, which ctr would load before ours`);
    writeFileSync(
      this.conflist,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: this.name,
        plugins: [
          {
            type: 'bridge',
            bridge: this.bridge,
            isGateway: true,
            ipMasq: false,
            ipam: { type: 'host-local', ranges: [[{ subnet: this.subnet, gateway: this.gateway }]] },
          },
        ],
      }),
    );
  }

  /** Leased addresses host-local still holds for this network. */
  leases(): string[] {
    const dir = join(CNI_STATE, 'networks', this.name);
    return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
  }

  remove(): void {
    rmSync(this.conflist, { force: true });
    try {
      execFileSync('ip', ['link', 'del', this.bridge], { stdio: 'ignore' });
    } catch {
      /* never created (a skipped or early-failing test) */
    }
    if (this.stateExisted) {
      rmSync(join(CNI_STATE, 'networks', this.name), { recursive: true, force: true });
      const results = join(CNI_STATE, 'results');
      for (const f of existsSync(results) ? readdirSync(results).filter((r) => r.startsWith(`${this.name}-`)) : []) rmSync(join(results, f), { force: true });
    } else rmSync(CNI_STATE, { recursive: true, force: true });
    for (const l of this.createdLinks) rmSync(l, { force: true });
    for (const d of this.createdDirs.reverse()) rmdirSync(d);
    writeFileSync(IP_FORWARD, this.forwardBefore);
  }
}
