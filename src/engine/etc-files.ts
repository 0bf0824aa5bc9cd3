/**
 * The files Docker writes per container and bind-mounts over the image's: /etc/hostname,
 * /etc/hosts and /etc/resolv.conf (the host's, minus loopback name servers a container cannot
 * reach, with Docker's public fallback when none remain). With the host's network the host's own
 * hosts and resolv.conf are used as they are, as Docker does.
 */
import { join } from 'node:path';
import { writeFileAtomicSync } from '../core/node/files';
import { containerResolvConf, hostResolvConf, LOCAL_HOSTS, readOr } from './network/etc';

const LOCAL = `${LOCAL_HOSTS.join('\n')}\n`;

export { containerResolvConf, hostResolvConf };

export interface EtcFiles {
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
}

/**
 * The files as they are before the network is up (start rewrites hosts and resolv.conf:
 * network/manager.ts). Written synchronously: three small files, where the threadpool made each
 * open, write, close and rename a round trip of its own (twelve in sequence in Engine/Create).
 */
export function writeEtcFiles(dir: string, hostname: string, network: string): EtcFiles {
  const files: EtcFiles = { hostnamePath: join(dir, 'hostname'), hostsPath: join(dir, 'hosts'), resolvConfPath: join(dir, 'resolv.conf') };
  const hosts = network === 'host' ? readOr('/etc/hosts', LOCAL) : LOCAL;
  const resolv = network === 'host' ? hostResolvConf() : containerResolvConf(hostResolvConf());
  writeFileAtomicSync(files.hostnamePath, `${hostname}\n`, 0o644);
  writeFileAtomicSync(files.hostsPath, hosts, 0o644);
  writeFileAtomicSync(files.resolvConfPath, resolv, 0o644);
  return files;
}
