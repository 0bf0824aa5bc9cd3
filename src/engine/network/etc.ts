/**
 * /etc/hosts and /etc/resolv.conf of a container, as Docker writes them. hosts:
 * the loopback lines, the container's own address and hostname, then `--add-host` entries
 * (`host-gateway` = its network's gateway). resolv.conf: on a user network berthd's resolver on
 * the gateway, with the host's search domains and options plus `ndots:0` (so a bare container
 * name is asked as it is first); elsewhere `--dns` or the host's name servers minus loopback
 * ones, which a container cannot reach.
 */
import { existsSync, readFileSync } from 'node:fs';

export const LOCAL_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];
/** Docker's fallback when the host has only loopback name servers. */
export const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

export interface HostsInput {
  /** The lines to start from (the host's /etc/hosts in host mode); default the loopback lines. */
  base?: readonly string[];
  hostname: string;
  domainname?: string;
  /** The container's address on its first network (none without one). */
  ip?: string;
  extraHosts: ReadonlyArray<{ name: string; ip: string }>;
  /** What `host-gateway` stands for. */
  hostGateway?: string;
}

export function hostsFile(i: HostsInput): string {
  const lines = [...(i.base ?? LOCAL_HOSTS)];
  if (i.ip) lines.push(`${i.ip}\t${i.domainname ? `${i.hostname}.${i.domainname} ` : ''}${i.hostname}`);
  for (const h of i.extraHosts) {
    const ip = h.ip === 'host-gateway' ? i.hostGateway : h.ip;
    if (ip) lines.push(`${ip}\t${h.name}`);
  }
  return `${lines.join('\n')}\n`;
}

interface Parsed {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): Parsed {
  const out: Parsed = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const f = raw
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (f[0] === 'nameserver' && f[1]) out.nameservers.push(f[1]);
    else if ((f[0] === 'search' || f[0] === 'domain') && f.length > 1) out.search = f.slice(1);
    else if (f[0] === 'options') out.options.push(...f.slice(1));
  }
  return out;
}

const isLoopback = (a: string) => /^127\./.test(a) || a === '::1' || a === '0:0:0:0:0:0:0:1';

/** A file's text, or `fallback` when it cannot be read. */
export function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** The host's resolv.conf; systemd-resolved's stub (127.0.0.53) swapped for its upstream list. */
export function hostResolvConf(path = '/etc/resolv.conf'): string {
  const text = readOr(path, '');
  const servers = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!);
  if (servers.length > 0 && servers.every((s) => s === '127.0.0.53') && existsSync('/run/systemd/resolve/resolv.conf'))
    return readOr('/run/systemd/resolve/resolv.conf', text);
  return text;
}

/** The host's resolv.conf for a container with a network namespace of its own: loopback servers dropped, the rest as it is. */
export function containerResolvConf(host: string): string {
  const lines = host.split('\n').filter((l) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    return !(m && isLoopback(m[1]!));
  });
  let out = lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (!/^\s*nameserver\s/m.test(out)) out = [out, ...FALLBACK_NAMESERVERS.map((s) => `nameserver ${s}`)].filter(Boolean).join('\n');
  return `${out}\n`;
}

export interface ResolvInput {
  /** The host's resolv.conf text. */
  host: string;
  /** berthd's resolver (a user network's gateway), or none. */
  embedded?: string;
  dns: { servers: readonly string[]; search: readonly string[]; options: readonly string[] };
}

export function resolvConf(i: ResolvInput): string {
  if (!i.embedded && !i.dns.servers.length && !i.dns.search.length && !i.dns.options.length) return containerResolvConf(i.host);
  const h = parseResolvConf(i.host);
  const search = i.dns.search.length ? [...i.dns.search] : h.search;
  let options = i.dns.options.length ? [...i.dns.options] : h.options;
  let servers: string[];
  if (i.embedded) {
    servers = [i.embedded];
    if (!options.some((o) => o.startsWith('ndots:'))) options = [...options, 'ndots:0'];
  } else {
    servers = i.dns.servers.length ? [...i.dns.servers] : h.nameservers.filter((s) => !isLoopback(s));
    if (!servers.length) servers = FALLBACK_NAMESERVERS;
  }
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length && !(search.length === 1 && search[0] === '.')) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** The servers berthd forwards to: the host's (loopback ones too: berthd runs on the host). */
export function upstreamServers(hostResolv: string): string[] {
  return parseResolvConf(hostResolv).nameservers.filter((s) => /^\d+\.\d+\.\d+\.\d+$/.test(s));
}
