import { readFileSync } from 'node:fs';
import { chainCredentials, dockerConfigCredentials, RegistryClient, type HostsConfig, type RegistryHostOptions } from '../../remotes';
import { TransferService, type TransferStores } from '../../transfer';
import type { Config } from '../config';
import { Part, type Slice } from '../slice';
import { CONTENT } from './content';
import { APPLIER } from './diff';
import { EVENTS } from './events';
import { GC } from './gc';
import { IMAGES, LEASES, NAMESPACES } from './metadata';
import { SNAPSHOTTERS } from './snapshotters';

/** pull, push, tag, import and export (src/transfer), for the services above. */
export const TRANSFER = new Part<TransferService>('transfer');

const DEFAULT_SNAPSHOTTER_LABEL = 'containerd.io/defaults/snapshotter';

/** The registry hosts configuration with each CA bundle read now (a missing file fails start-up clearly). */
export function hostsConfig(c: Config['registry']): HostsConfig {
  const hosts: Record<string, RegistryHostOptions> = {};
  for (const [name, h] of Object.entries(c.hosts)) {
    let ca: Buffer | undefined;
    if (h.ca) {
      try {
        ca = readFileSync(h.ca);
      } catch (e) {
        throw new Error(`config: registry.hosts[${JSON.stringify(name)}].ca ${h.ca}: ${(e as Error).message}`, { cause: e });
      }
    }
    hosts[name] = {
      ...(h.plainHttp !== undefined ? { plainHttp: h.plainHttp } : {}),
      ...(h.skipVerify !== undefined ? { skipVerify: h.skipVerify } : {}),
      ...(ca ? { ca } : {}),
    };
  }
  return { insecure: c.insecure, hosts };
}

/**
 * The transfer slice: registry credentials are the caller's (the Transfer client's auth stream)
 * first, then the docker config.json of the user berthd runs as. No gRPC service yet: the
 * Transfer and Streaming services come next and call TRANSFER.
 */
export const transferSlice: Slice = {
  name: 'transfer',
  requires: [CONTENT, IMAGES, LEASES, NAMESPACES, SNAPSHOTTERS, APPLIER, EVENTS, GC],
  provides: [TRANSFER],
  plugins: () => [],
  wire(ctx) {
    const log = ctx.log.child({ component: 'transfer' });
    const namespaces = ctx.need(NAMESPACES);
    const stores: TransferStores = {
      content: ctx.need(CONTENT),
      images: ctx.need(IMAGES),
      leases: ctx.need(LEASES),
      snapshotters: ctx.need(SNAPSHOTTERS),
      applier: ctx.need(APPLIER),
      events: ctx.need(EVENTS),
      gc: ctx.need(GC),
      defaultSnapshotter: async (c) => {
        const ns = await namespaces.get(c, c.ns).catch(() => undefined);
        return ns?.labels[DEFAULT_SNAPSHOTTER_LABEL] || ctx.config.defaultSnapshotter;
      },
    };
    const hosts = hostsConfig(ctx.config.registry);
    const dockerConfig = ctx.config.registry.dockerConfig;
    const fromDockerConfig = dockerConfigCredentials(dockerConfig ? { dir: dockerConfig } : {});
    ctx.provide(
      TRANSFER,
      new TransferService(stores, {
        registry: (o = {}) =>
          new RegistryClient({
            hosts,
            credentials: chainCredentials(o.credentials, fromDockerConfig),
            headers: o.headers,
            plainHttp: o.plainHttp,
            log,
            userAgent: 'berth/0.1 (containerd-compatible)',
          }),
        maxConcurrentDownloads: ctx.config.transfer.maxConcurrentDownloads,
        maxConcurrentUploads: ctx.config.transfer.maxConcurrentUploads,
        leaseExpiryMs: ctx.config.transfer.leaseExpiryHours * 3600_000,
      }),
    );
  },
};
