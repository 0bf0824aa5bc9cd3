/**
 * The files Docker writes per container and bind-mounts over the image's: /etc/hostname,
 * /etc/hosts and /etc/resolv.conf (the host's, minus loopback name servers a container cannot
 * reach, with Docker's public fallback when none remain). With the host's network the host's own
 * hosts and resolv.conf are used as they are, as Docker does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/node/files';
import type { NetworkMode } from './types';

const LOCAL_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
].join('\n');
const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

const isLoopback = (addr: string) => /^127\./.test(addr) || addr === '::1' || addr === '0:0:0:0:0:0:0:1';

function readOr(path: string, fallback: string): string {
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
  if (servers.length > 0 && servers.every((s) => s === '127.0.0.53') && existsSync('/run/systemd/resolve/resolv.conf')) return readOr('/run/systemd/resolve/resolv.conf', text);
  return text;
}

/** resolv.conf for a container with its own network namespace. */
export function containerResolvConf(host: string): string {
  const lines = host.split('\n').filter((l) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    return !(m && isLoopback(m[1]!));
  });
  let out = lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
  if (!/^\s*nameserver\s/m.test(out)) out = [out, ...FALLBACK_NAMESERVERS.map((s) => `nameserver ${s}`)].filter(Boolean).join('\n');
  return `${out}\n`;
}

export interface EtcFiles {
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
}

export async function writeEtcFiles(dir: string, hostname: string, network: NetworkMode): Promise<EtcFiles> {
  const files: EtcFiles = { hostnamePath: join(dir, 'hostname'), hostsPath: join(dir, 'hosts'), resolvConfPath: join(dir, 'resolv.conf') };
  const hosts = network === 'host' ? readOr('/etc/hosts', `${LOCAL_HOSTS}\n`) : `${LOCAL_HOSTS}\n`;
  const resolv = network === 'host' ? hostResolvConf() : containerResolvConf(hostResolvConf());
  await writeFileAtomic(files.hostnamePath, `${hostname}\n`, { mode: 0o644 });
  await writeFileAtomic(files.hostsPath, hosts, { mode: 0o644 });
  await writeFileAtomic(files.resolvConfPath, resolv, { mode: 0o644 });
  return files;
}
