/**
 * host-local's address store, kept by berthd itself for the attachments it makes without the
 * plugins (native-bridge.ts). The files are host-local's own (containernetworking/plugins
 * 1.1.1, backend/disk and allocator): one file per address in `<dataDir>/<network>`, named by
 * the address and holding `<container id>\r\n<ifname>`, created with O_EXCL (the reservation
 * itself, so berthd and a host-local run of an edited config list can never hand out one
 * address twice), and `last_reserved_ip.0` for the round-robin start. An attachment made either
 * way is released by either.
 */
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { alreadyExists, fromErrno, invalidArgument, resourceExhausted } from '../../core/errors';
import { contains, formatIp, lastAddress, parseCidr, parseIp, type Cidr } from '../ipv4';

/** One host-local range (berth's lists have one range set of one range). */
export interface HostLocalRange {
  subnet: string;
  gateway?: string;
  rangeStart?: string;
  rangeEnd?: string;
}

export interface Allocation {
  ip: string;
  prefixLen: number;
  gateway: string;
}

interface Range {
  subnet: Cidr;
  start: number;
  end: number;
  gateway: number;
}

const LAST_RESERVED = 'last_reserved_ip.0';
const LINE_BREAK = '\r\n';

/** host-local's defaults: start after the network address, end before the broadcast, gateway .1. */
export function canonicalRange(r: HostLocalRange): Range {
  const subnet = parseCidr(r.subnet, 'host-local subnet', false);
  const ip = (s: string | undefined, what: string, dflt: number) => {
    if (s === undefined) return dflt;
    const n = parseIp(s);
    if (n === undefined || !contains(subnet, n)) throw invalidArgument(`host-local ${what} ${s} is not in ${r.subnet}`);
    return n;
  };
  const base = subnet.base >>> 0;
  const start = ip(r.rangeStart, 'rangeStart', base + 1);
  const end = ip(r.rangeEnd, 'rangeEnd', lastAddress(subnet) - 1);
  if (subnet.len > 30 || start > end) throw invalidArgument(`host-local range ${r.subnet}: no usable addresses`);
  return { subnet: { base, len: subnet.len }, start, end, gateway: ip(r.gateway, 'gateway', base + 1) };
}

const rangeText = (r: Range) => `${formatIp(r.start)}-${formatIp(r.end)}`;
const owner = (id: string, ifName: string) => `${id.trim()}${LINE_BREAK}${ifName}`;

export class HostLocalStore {
  constructor(private readonly dataDir: string) {}

  private dir(network: string): string {
    return join(this.dataDir, network);
  }

  /** An address for the container's interface: `requested` (CNI_ARGS IP) or the next free one after the last given. */
  async allocate(network: string, id: string, ifName: string, range: HostLocalRange, requested?: string): Promise<Allocation> {
    const r = canonicalRange(range);
    const dir = this.dir(network);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const done = (ip: number): Allocation => ({ ip: formatIp(ip), prefixLen: r.subnet.len, gateway: formatIp(r.gateway) });
    if (requested !== undefined) {
      const ip = parseIp(requested);
      if (ip === undefined || ip < r.start || ip > r.end) throw invalidArgument(`requested IP address ${requested} is not in range set ${rangeText(r)}`);
      if (ip === r.gateway) throw invalidArgument(`requested ip ${requested} is subnet's gateway`);
      if (!(await this.reserve(dir, ip, id, ifName))) throw alreadyExists(`requested IP address ${requested} is not available in range set ${rangeText(r)}`);
      return done(ip);
    }
    const held = (await this.owned(dir, id, ifName)).find((ip) => ip >= r.start && ip <= r.end);
    if (held !== undefined) throw alreadyExists(`${formatIp(held)} has been allocated to ${id}, duplicate allocation is not allowed`);
    const last = parseIp((await readFile(join(dir, LAST_RESERVED), 'utf8').catch(() => '')).trim());
    const first = last !== undefined && last >= r.start && last <= r.end ? (last === r.end ? r.start : last + 1) : r.start;
    let ip = first;
    do {
      if (ip !== r.gateway && (await this.reserve(dir, ip, id, ifName))) return done(ip);
      ip = ip === r.end ? r.start : ip + 1;
    } while (ip !== first);
    throw resourceExhausted(`no IP addresses available in range set: ${rangeText(r)}`);
  }

  /** host-local's ReleaseByID: every address held by the container's interface (or, from a pre-0.8 store, by the container). */
  async release(network: string, id: string, ifName: string): Promise<void> {
    const dir = this.dir(network);
    if (!(await this.removeWhere(dir, (text) => text === owner(id, ifName)))) await this.removeWhere(dir, (text) => text === id.trim());
  }

  private async reserve(dir: string, ip: number, id: string, ifName: string): Promise<boolean> {
    const name = formatIp(ip);
    let f;
    try {
      f = await open(join(dir, name), 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fromErrno(e, `host-local ${dir}`);
    }
    try {
      await f.writeFile(owner(id, ifName));
    } catch (e) {
      await f.close().catch(() => undefined);
      await rm(join(dir, name), { force: true });
      throw fromErrno(e, `host-local ${dir}`);
    }
    await f.close();
    await writeFile(join(dir, LAST_RESERVED), name, { mode: 0o644 });
    return true;
  }

  /** The addresses whose file holds this owner. */
  private async owned(dir: string, id: string, ifName: string): Promise<number[]> {
    const out: number[] = [];
    await this.each(dir, (ip, text) => {
      if (text === owner(id, ifName) || text === id.trim()) out.push(ip);
    });
    return out;
  }

  private async removeWhere(dir: string, match: (text: string) => boolean): Promise<boolean> {
    const hits: string[] = [];
    await this.each(dir, (ip, text, name) => {
      if (match(text)) hits.push(name);
    });
    await Promise.all(hits.map((n) => rm(join(dir, n), { force: true })));
    return hits.length > 0;
  }

  /** Each address file's text, trimmed as host-local compares it. */
  private async each(dir: string, fn: (ip: number, text: string, name: string) => void): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fromErrno(e, `host-local ${dir}`);
    }
    const files = names.flatMap((n) => {
      const ip = parseIp(n);
      return ip === undefined ? [] : [{ n, ip }];
    });
    const texts = await Promise.all(files.map((f) => readFile(join(dir, f.n), 'utf8').catch(() => undefined)));
    files.forEach((f, i) => {
      const t = texts[i];
      if (t !== undefined) fn(f.ip, t.trim(), f.n);
    });
  }
}
