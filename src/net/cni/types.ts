/**
 * The CNI specification's data as berth uses it (containernetworking/cni SPEC.md, versions 0.3.0
 * to 1.0.0: what Debian's containernetworking-plugins 1.1.1 speak). Plugin configs and results
 * stay JSON objects: a plugin may carry any field, and each plugin reads what the last returned.
 */

/** Versions berth writes and accepts. 0.4.0 added CHECK and prevResult on DEL; 1.0.0 dropped ips[].version. */
export const CNI_VERSIONS: readonly string[] = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'];

/** One plugin of a list: `type` names the binary; everything else is the plugin's. */
export interface PluginConf {
  type: string;
  /** Runtime capabilities the plugin accepts in `runtimeConfig` (e.g. portMappings). */
  capabilities?: Record<string, boolean>;
  [field: string]: unknown;
}

/** A network configuration list (a `.conflist` file). */
export interface NetConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
}

/** What the runtime says about one attachment (libcni's RuntimeConf). */
export interface RuntimeConf {
  /** CNI_CONTAINERID: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
  containerId: string;
  /** CNI_NETNS: the namespace's path; '' when it is gone (a DEL then releases what it can). */
  netns: string;
  /** CNI_IFNAME inside the namespace, e.g. eth0. */
  ifName: string;
  /** CNI_ARGS pairs, e.g. [['IP', '10.0.0.5']]. */
  args?: Array<[string, string]>;
  /** Offered to each plugin as runtimeConfig, filtered by the plugin's capabilities. */
  capabilityArgs?: Record<string, unknown>;
}

/** A plugin's result, as JSON (the last plugin's is the list's). */
export type CniResult = Record<string, unknown>;

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

/** An address a result assigns, flattened over the spec's versions. */
export interface ResultAddress {
  /** `10.213.1.2` */
  ip: string;
  prefixLen: number;
  gateway?: string;
  family: 4 | 6;
  /** The interface's name and MAC when the result ties the address to one. */
  ifName?: string;
  mac?: string;
  /** The namespace path when the interface is inside one (the container side). */
  sandbox?: string;
}

/** Ids, names and interface names go into file names, iptables comments and netlink: keep them tame. */
export const CNI_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/** Linux IFNAMSIZ - 1, and nothing the kernel refuses in a name. */
export const IFNAME = /^[^\s/:]{1,15}$/;
