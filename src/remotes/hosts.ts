import { isIP } from 'node:net';
import { DEFAULT_DOMAIN } from './reference';

/**
 * Where and how a registry named in a reference is reached (containerd's hosts.toml, reduced to
 * what berth honours): Docker Hub's API lives on registry-1.docker.io; loopback hosts speak
 * plain HTTP, as containerd's MatchLocalhost; other hosts HTTPS unless configured insecure, with
 * an optional CA bundle per host (hosts.toml `ca`) and an opt-out of verification (`skip_verify`).
 */
export interface RegistryHostOptions {
  /** Plain HTTP instead of HTTPS. */
  plainHttp?: boolean;
  /** PEM CA certificates trusted for this host (in addition to Node's bundled roots). */
  ca?: string | Buffer;
  /** Do not verify the server's certificate (hosts.toml `skip_verify`). */
  skipVerify?: boolean;
}

export interface HostsConfig {
  /** `host[:port]` names served over plain HTTP (Docker's `insecure-registries`). */
  insecure?: readonly string[];
  /** Per `host[:port]` options. */
  hosts?: Readonly<Record<string, RegistryHostOptions>>;
}

export interface RegistryHost {
  /** The registry as named in references (`docker.io`, `127.0.0.1:5000`). */
  readonly name: string;
  /** Origin of its API: `https://registry-1.docker.io`, `http://127.0.0.1:5000`. */
  readonly origin: string;
  readonly ca?: string | Buffer;
  readonly rejectUnauthorized: boolean;
}

/** `host[:port]` → host, with IPv6 brackets removed. */
export function hostOnly(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i >= 0 && hostPort.indexOf(':') === i ? hostPort.slice(0, i) : hostPort;
}

/** localhost, 127.0.0.0/8 and ::1 (containerd's MatchLocalhost). */
export function isLoopbackHost(hostPort: string): boolean {
  const h = hostOnly(hostPort).toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

export function resolveHost(name: string, config: HostsConfig = {}): RegistryHost {
  const opts = config.hosts?.[name] ?? {};
  const plain = opts.plainHttp ?? ((config.insecure ?? []).includes(name) || isLoopbackHost(name));
  const apiHost = name === DEFAULT_DOMAIN ? 'registry-1.docker.io' : name;
  return {
    name,
    origin: `${plain ? 'http' : 'https'}://${apiHost}`,
    ...(opts.ca ? { ca: opts.ca } : {}),
    rejectUnauthorized: !opts.skipVerify,
  };
}
