/** IPv4 addresses and subnets as numbers: parsing, overlap, membership (pure). */
import { invalidArgument } from '../core/errors';

export interface Cidr {
  /** The network address (host bits cleared). */
  base: number;
  len: number;
}

const OCTETS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIp(s: string): number | undefined {
  const m = OCTETS.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x, i) => x > 255 || (m[i + 1]!.length > 1 && m[i + 1]!.startsWith('0')))) return undefined;
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

export function mustIp(s: string, what: string): number {
  const n = parseIp(s);
  if (n === undefined) throw invalidArgument(`${what}: ${JSON.stringify(s)} is not an IPv4 address`);
  return n;
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** `10.1.2.0/24`; with `strict`, host bits must be zero (Docker: "invalid subnet"). */
export function parseCidr(s: string, what = 'subnet', strict = true): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  const ip = m ? parseIp(m[1]!) : undefined;
  const len = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(len >= 0 && len <= 32)) throw invalidArgument(`${what}: ${JSON.stringify(s)} is not an IPv4 CIDR (a.b.c.d/n)`);
  const base = (ip & mask(len)) >>> 0;
  if (strict && base !== ip) throw invalidArgument(`${what}: ${s} has host bits set (did you mean ${formatIp(base)}/${len}?)`);
  return { base, len };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.len}`;
}

export function contains(c: Cidr, ip: number): boolean {
  return (ip & mask(c.len)) >>> 0 === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const len = Math.min(a.len, b.len);
  return (a.base & mask(len)) >>> 0 === (b.base & mask(len)) >>> 0;
}

/** Last address of the subnet (its broadcast). */
export function lastAddress(c: Cidr): number {
  return (c.base | (~mask(c.len) >>> 0)) >>> 0;
}
