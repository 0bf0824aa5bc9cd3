/**
 * `-p` and `-P` as Docker reads them: `[ip:][hostPort:]containerPort[/proto]`, ports or equal-
 * length ranges, tcp or udp. The host address defaults to berthd's `defaultPublishAddress`,
 * 127.0.0.1 unless configured: unlike Docker (0.0.0.0), a published port is reachable from this
 * host only until the user names an address. `-P` publishes each exposed port on a free port.
 */
import { invalidArgument, notImplemented } from '../../core/errors';
import { parseIp } from '../../net/ipv4';
import type { PortBinding } from './types';

function portRange(s: string, what: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) throw invalidArgument(`invalid ${what} ${JSON.stringify(s)}`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 1 || b > 65535 || b < a) throw invalidArgument(`invalid ${what} ${JSON.stringify(s)}: ports are 1-65535, ranges low-high`);
  return [a, b];
}

function proto(s: string | undefined, spec: string): 'tcp' | 'udp' {
  const p = (s ?? 'tcp').toLowerCase();
  if (p === 'tcp' || p === 'udp') return p;
  if (p === 'sctp') throw notImplemented(`publish ${spec}: sctp ports are not supported`);
  throw invalidArgument(`publish ${spec}: unknown protocol ${JSON.stringify(s)}`);
}

/** One `-p` value. */
export function parsePublish(spec: string, defaultIp: string): PortBinding[] {
  const slash = spec.lastIndexOf('/');
  const body = slash >= 0 ? spec.slice(0, slash) : spec;
  const pr = proto(slash >= 0 ? spec.slice(slash + 1) : undefined, spec);
  if (body.startsWith('[')) throw notImplemented(`publish ${spec}: IPv6 host addresses are not supported`);
  const parts = body.split(':');
  let ip = defaultIp;
  let host: string | undefined;
  let container: string;
  if (parts.length === 1) container = parts[0]!;
  else if (parts.length === 2) [host, container] = parts as [string, string];
  else if (parts.length === 3) {
    ip = parts[0]!;
    host = parts[1];
    container = parts[2]!;
    if (parseIp(ip) === undefined) throw invalidArgument(`publish ${spec}: ${JSON.stringify(ip)} is not an IPv4 address`);
  } else throw invalidArgument(`invalid publish spec ${JSON.stringify(spec)}: want [ip:][hostPort:]containerPort[/proto]`);
  const [c0, c1] = portRange(container, 'container port');
  const n = c1 - c0 + 1;
  let h0 = 0;
  if (host !== undefined && host !== '') {
    const [a, b] = portRange(host, 'host port');
    if (b - a + 1 !== n) throw invalidArgument(`publish ${spec}: the host and container port ranges differ in length`);
    h0 = a;
  }
  return Array.from({ length: n }, (_, i) => ({ hostIp: ip, hostPort: h0 ? h0 + i : 0, containerPort: c0 + i, proto: pr }));
}

/** An exposed port (`80/tcp`, `8000-8002/udp`) as container ports. */
function exposed(p: string): Array<{ port: number; proto: 'tcp' | 'udp' }> {
  const [range, pr] = p.split('/');
  const [a, b] = portRange(range ?? '', 'exposed port');
  const prt = proto(pr, p);
  return Array.from({ length: b - a + 1 }, (_, i) => ({ port: a + i, proto: prt }));
}

/** Every binding of a request: `-p` values, then `-P`'s for exposed ports no `-p` covers. */
export function portBindings(publish: readonly string[], publishAll: boolean, exposedPorts: readonly string[], defaultIp: string): PortBinding[] {
  const out = publish.flatMap((s) => parsePublish(s, defaultIp));
  if (publishAll) {
    for (const e of exposedPorts.flatMap(exposed)) {
      if (out.some((b) => b.containerPort === e.port && b.proto === e.proto)) continue;
      out.push({ hostIp: defaultIp, hostPort: 0, containerPort: e.port, proto: e.proto });
    }
  }
  const seen = new Set<string>();
  for (const b of out) {
    if (b.hostPort === 0) continue;
    const k = `${b.proto}/${b.hostIp}:${b.hostPort}`;
    if (seen.has(k)) throw invalidArgument(`host port ${b.hostIp}:${b.hostPort}/${b.proto} is published twice`);
    seen.add(k);
  }
  return out;
}

/** Docker's `ps` PORTS column: `127.0.0.1:8080->80/tcp, 53/udp`. */
export function formatPorts(ports: readonly PortBinding[]): string {
  return ports.map((p) => (p.hostPort ? `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}` : `${p.containerPort}/${p.proto}`)).join(', ');
}
