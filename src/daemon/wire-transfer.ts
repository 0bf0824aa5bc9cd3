import { readFileSync } from 'node:fs';
import type { ContentStore } from '../content/types';
import type { ImageStore } from '../images/types';
import type { NamespaceStore } from '../metadata/namespaces';
import { chainCredentials, dockerConfigCredentials, RegistryClient, type HostsConfig, type RegistryHostOptions } from '../remotes';
import { TransferService, type LayerApplierApi, type LeaseManager, type SnapshotterApi, type TransferStores } from '../transfer';
import type { Config } from './config';
import type { Wiring } from './wiring';

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
        throw new Error(`config: registry.hosts[${JSON.stringify(name)}].ca ${h.ca}: ${(e as Error).message}`);
      }
    }
    hosts[name] = { ...(h.plainHttp !== undefined ? { plainHttp: h.plainHttp } : {}), ...(h.skipVerify !== undefined ? { skipVerify: h.skipVerify } : {}), ...(ca ? { ca } : {}) };
  }
  return { insecure: c.insecure, hosts };
}

/** The stores the transfer slice works on, from what earlier slices put in `parts`. */
export function transferStores(w: Wiring): TransferStores {
  const part = <T>(name: string): T => {
    const p = w.parts.get(name) as T | undefined;
    if (!p) throw new Error(`wireTransfer: part '${name}' is missing (wire it first)`);
    return p;
  };
  const namespaces = part<NamespaceStore>('namespaces');
  return {
    content: part<ContentStore>('content'),
    images: part<ImageStore>('images'),
    leases: part<LeaseManager>('leases'),
    snapshotters: part<ReadonlyMap<string, SnapshotterApi>>('snapshotters'),
    applier: part<LayerApplierApi>('applier'),
    defaultSnapshotter: async (ctx) => {
      const ns = await namespaces.get(ctx, ctx.ns).catch(() => undefined);
      return ns?.labels[DEFAULT_SNAPSHOTTER_LABEL] || w.config.defaultSnapshotter;
    },
    get events() {
      return w.events;
    },
  };
}

/**
 * The transfer slice (part 'transfer'): pull, push, tag, import and export for the services
 * above. Credentials: the caller's (the Transfer client's auth stream) first, then the docker
 * config.json of the user berthd runs as. No gRPC service yet: the Transfer and Streaming
 * services are the next step.
 */
export async function wireTransfer(w: Wiring): Promise<void> {
  const log = w.log.child({ component: 'transfer' });
  const hosts = hostsConfig(w.config.registry);
  const fromDockerConfig = dockerConfigCredentials({ ...(w.config.registry.dockerConfig ? { dir: w.config.registry.dockerConfig } : {}) });
  const transfer = new TransferService(transferStores(w), {
    registry: (credentials) => new RegistryClient({ hosts, credentials: chainCredentials(credentials, fromDockerConfig), log, userAgent: 'berth/0.1 (containerd-compatible)' }),
    maxConcurrentDownloads: w.config.transfer.maxConcurrentDownloads,
    maxConcurrentUploads: w.config.transfer.maxConcurrentUploads,
    leaseExpiryMs: w.config.transfer.leaseExpiryHours * 3600_000,
  });
  w.parts.set('transfer', transfer);
}
