/**
 * Networks as the engine serves them (Docker's `network` objects and a container's network
 * settings), and what a container asks for. Field names follow Docker's where Docker has one, so
 * the Docker Engine API and the CRI can map onto them.
 */

/** Docker's name for the default network; berth's bridge device for it is its own (config). */
export const DEFAULT_NETWORK = 'bridge';

/** A network berth made: the record behind `network inspect`. */
export interface NetworkRecord {
  version: 1;
  /** 64 hex digits. */
  id: string;
  name: string;
  driver: 'bridge';
  /** RFC 3339. */
  created: string;
  /** IPv4 CIDR, e.g. 10.213.1.0/24. */
  subnet: string;
  gateway: string;
  /** Addresses handed out come from here (within the subnet); none = the whole subnet. */
  ipRange?: string;
  /** The Linux bridge device. */
  bridge: string;
  /** Masquerade traffic leaving the host (off for internal networks). */
  ipMasquerade: boolean;
  /** No route out and no traffic to or from other interfaces. */
  internal: boolean;
  /** 0 = the kernel's default. */
  mtu: number;
  labels: Record<string, string>;
  /** Driver options as given (`-o`), e.g. com.docker.network.bridge.name. */
  options: Record<string, string>;
  /** The default network: no names served and no aliases, as Docker's default bridge. */
  isDefault: boolean;
}

export interface NetworkCreateOptions {
  name: string;
  /** Only `bridge`. */
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  /** IPv6 networks are not supported (NotImplemented). */
  ipv6?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

/** One container on a network, as `network inspect` lists it. */
export interface NetworkContainer {
  name: string;
  /** 10.213.1.2/24 */
  ipv4Address: string;
  macAddress: string;
}

export interface NetworkInspect extends Omit<NetworkRecord, 'version'> {
  scope: 'local';
  enableIPv6: false;
  /** The CNI config list berthd runs for it. */
  configPath: string;
  /** By container id: the containers attached now. */
  containers: Record<string, NetworkContainer>;
}

export interface NetworkListOptions {
  /** Docker's: name=, id=, label=k[=v], driver=, type=custom|builtin, dangling=true|false. */
  filters?: Record<string, string[]>;
}

/** A published port. hostPort 0 = any free port, chosen when the container starts. */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

/** The networking flags `run`/`create` and the engine's CreateOptions share with NetworkRequest. */
export interface NetworkFlags {
  /** `--ip` on the first (the mode's) network. */
  ip?: string;
  /** `-p [ip:][hostPort:]containerPort[/proto]`, ranges allowed; the host address defaults to berthd's defaultPublishAddress (127.0.0.1). */
  publish?: string[];
  /** `-P`: every exposed port on a free host port. */
  publishAll?: boolean;
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** `--add-host name:ip` (ip may be `host-gateway`). */
  extraHosts?: string[];
}

/** What `run`/`create` ask for (the CLI's --network, -p, --ip …, or the API's fields). */
export interface NetworkRequest extends NetworkFlags {
  /** Docker's NetworkMode: '' or 'default' (the default network), 'bridge', 'none', 'host', 'container:<name|id>', or a network's name or id. */
  mode?: string;
  /** `--network-alias` on the mode's network. */
  aliases?: string[];
  /** Networks beyond the mode's (`--network a --network b`, the API's EndpointsConfig). */
  more?: Array<{ network: string; ip?: string; aliases?: string[] }>;
}

export type NetworkMode = 'bridge' | 'none' | 'host' | 'container';

export interface EndpointConfig {
  networkId: string;
  networkName: string;
  /** A fixed address (`--ip`). */
  ip?: string;
  aliases: string[];
}

/** A container's network config: checked at create, kept with the container, used at each start. */
export interface ContainerNetConfig {
  version: 1;
  mode: NetworkMode;
  /** `container:` mode: the id of the container whose namespace this one joins. */
  joinContainer?: string;
  /** In attach order; the first that is not internal carries the default route and the published ports. */
  endpoints: EndpointConfig[];
  ports: PortBinding[];
  dns: { servers: string[]; search: string[]; options: string[] };
  extraHosts: Array<{ name: string; ip: string }>;
}

/** One live attachment (`NetworkSettings.Networks[name]`). */
export interface EndpointSettings {
  networkId: string;
  networkName: string;
  ifName: string;
  ipAddress: string;
  ipPrefixLen: number;
  gateway: string;
  macAddress: string;
  aliases: string[];
  /** Names other containers on the network resolve to this one: name, aliases, short id. */
  dnsNames: string[];
}

/** What inspect and ps show of a running container's networking. */
export interface NetworkSettings {
  mode: NetworkMode;
  /** The namespace's path (Docker's SandboxKey); '' in host mode. */
  sandboxKey: string;
  networks: EndpointSettings[];
  /** Published ports as bound (host ports chosen). */
  ports: PortBinding[];
}

/** Where the container's network namespace comes from, for its OCI spec. */
export type SpecNetns = { kind: 'host' } | { kind: 'path'; path: string };
