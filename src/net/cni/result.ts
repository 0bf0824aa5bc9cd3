/** Reading a CNI result (0.3.0 – 1.0.0: the same shape, 0.3/0.4 add ips[].version). */
import type { CniResult, ResultAddress } from './types';

interface ResultInterface {
  name?: unknown;
  mac?: unknown;
  sandbox?: unknown;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The addresses a result assigns, each with its interface when the result names one. */
export function resultAddresses(r: CniResult | undefined): ResultAddress[] {
  if (!r) return [];
  const ifaces = Array.isArray(r.interfaces) ? (r.interfaces as ResultInterface[]) : [];
  const ips = Array.isArray(r.ips) ? (r.ips as Array<Record<string, unknown>>) : [];
  const out: ResultAddress[] = [];
  for (const e of ips) {
    const m = typeof e.address === 'string' ? /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(e.address) : null;
    if (!m) continue;
    const ip = m[1]!;
    const iface = typeof e.interface === 'number' ? ifaces[e.interface] : undefined;
    out.push({
      ip,
      prefixLen: Number(m[2]),
      gateway: str(e.gateway),
      family: ip.includes(':') ? 6 : 4,
      ifName: str(iface?.name),
      mac: str(iface?.mac),
      sandbox: str(iface?.sandbox),
    });
  }
  return out;
}

/** Host-side interfaces a result names (outside the namespace): the bridge and the veths' host ends. */
export function hostInterfaces(r: CniResult | undefined): string[] {
  const ifaces = r && Array.isArray(r.interfaces) ? (r.interfaces as ResultInterface[]) : [];
  return ifaces.filter((i) => i.sandbox === undefined || i.sandbox === '').flatMap((i) => (str(i.name) ? [i.name as string] : []));
}

/** The container-side addresses (those on an interface inside the namespace, or all when the result does not say). */
export function containerAddresses(r: CniResult | undefined): ResultAddress[] {
  const all = resultAddresses(r);
  const inside = all.filter((a) => a.sandbox !== undefined);
  return inside.length ? inside : all;
}
