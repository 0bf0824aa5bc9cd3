/**
 * The engine's side of container networking (network/ holds the mechanics): a create request's
 * network options checked into the config the record keeps, the OCI spec's namespace, and the
 * calls at start and once the task is gone.
 */
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { EngineDeps } from './deps';
import type { EtcFiles } from './etc-files';
import type { EngineRecord } from './record';
import type { ContainerConfig, ContainerNetConfig, CreateOptions, HostConfig, NetworkSettings } from './types';
import type { SpecNetns } from './network/types';

export interface PreparedNetwork {
  network: ContainerNetConfig;
  hostConfig: HostConfig;
  warnings: string[];
}

/** Checks the request (networks exist, --ip fits, -p parses, `container:` names a container) at create. */
export async function prepareNetwork(
  d: EngineDeps,
  ctx: Ctx,
  id: string,
  o: CreateOptions,
  config: ContainerConfig,
  hostConfig: HostConfig,
): Promise<PreparedNetwork> {
  const { config: network, warnings } = await d.network.prepare(
    {
      mode: hostConfig.networkMode,
      ip: o.ip,
      aliases: o.networkAliases,
      more: o.moreNetworks,
      publish: o.publish,
      publishAll: o.publishAll,
      dns: o.dns,
      dnsSearch: o.dnsSearch,
      dnsOptions: o.dnsOptions,
      extraHosts: o.extraHosts,
    },
    { exposedPorts: config.exposedPorts, resolveContainer: async (ref) => (await d.records.resolve(ctx, ref)).id, self: id },
  );
  if (network.mode === 'container' && o.hostname) throw invalidArgument('conflicting options: hostname and the container network mode');
  const networkMode = network.mode === 'container' ? `container:${network.joinContainer}` : hostConfig.networkMode;
  return { network, hostConfig: { ...hostConfig, networkMode, portBindings: network.ports.map((p) => ({ ...p })) }, warnings };
}

/** Follows `container:` to the namespace the spec joins (or the host's). */
export async function specNetns(d: EngineDeps, ctx: Ctx, r: Pick<EngineRecord, 'id' | 'network'>): Promise<SpecNetns> {
  const configs = new Map<string, ContainerNetConfig>();
  for (let cur = r.network, n = 0; cur.mode === 'container' && n < 16; n++) {
    const next = await d.records.get(ctx, cur.joinContainer!);
    if (!next) break; // specNetns reports it
    configs.set(next.id, next.network);
    cur = next.network;
  }
  return d.network.specNetns(r.id, r.network, (id) => configs.get(id));
}

/** `container:` shares its target's /etc/hosts and resolv.conf, as Docker does. */
export async function etcOfJoined(d: EngineDeps, ctx: Ctx, r: Pick<EngineRecord, 'network'>, own: EtcFiles): Promise<EtcFiles> {
  if (r.network.mode !== 'container') return own;
  const t = await d.records.get(ctx, r.network.joinContainer!);
  return t ? { ...own, hostsPath: t.hostsPath, resolvConfPath: t.resolvConfPath } : own;
}

/** At start, before the task: the sandbox, the ports, the names, /etc/hosts and resolv.conf. */
export function attachNetwork(d: EngineDeps, ctx: Ctx, r: EngineRecord): Promise<NetworkSettings> {
  const etc = r.network.mode === 'container' ? undefined : { hostsPath: r.hostsPath, resolvConfPath: r.resolvConfPath };
  return d.network.attach({ id: r.id, ns: ctx.ns, name: r.name, hostname: r.config.hostname, domainname: r.config.domainname || undefined }, r.network, etc);
}

/** Once the task is gone (exit, crash, stop, rm): everything released. A failure is logged; the next start or berthd start tries again. */
export async function detachNetwork(d: EngineDeps, ns: string, id: string): Promise<void> {
  await d.network
    .detach(id)
    .catch((e) => d.log.error('engine: releasing a container network failed (retried at its next start or berthd start)', { ns, id, err: e as Error }));
}
