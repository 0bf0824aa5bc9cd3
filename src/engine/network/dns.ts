/**
 * berthd's resolver on the gateway of each user network that has containers: started after the
 * first attachment (the bridge plugin puts the gateway address on the bridge then), kept until
 * the network is removed or berthd stops. A gateway it cannot bind (the address not there yet,
 * port 53 taken) is logged and retried at the next attachment.
 */
import type { Logger } from '../../core/logger';
import { DnsServer, type Upstream } from '../../net/dns/server';
import type { ContainerNames } from './names';
import type { NetworkRecord } from './types';

export interface NetworkDnsOptions {
  port: number;
  names: ContainerNames;
  /** Networks by id (current). */
  network: (id: string) => NetworkRecord | undefined;
  upstreams: () => readonly Upstream[];
  log: Logger;
}

export class NetworkDns {
  private readonly server: DnsServer;
  private readonly served = new Map<string, string>(); // network id → gateway

  constructor(private readonly o: NetworkDnsOptions) {
    const byGateway = (gw: string) => {
      for (const [id, g] of this.served) if (g === gw) return o.network(id);
      return undefined;
    };
    this.server = new DnsServer({ resolve: o.names.resolver(byGateway, o.network, o.upstreams), log: o.log });
  }

  /** Serves names on the network's gateway (user networks only; idempotent). */
  async ensure(n: NetworkRecord): Promise<void> {
    if (n.isDefault || this.served.has(n.id)) return;
    try {
      await this.server.listen(n.gateway, this.o.port);
      this.served.set(n.id, n.gateway);
    } catch (e) {
      this.o.log.warn('network: cannot serve DNS on the gateway (names will not resolve on this network)', {
        network: n.name,
        gateway: n.gateway,
        err: e as Error,
      });
    }
  }

  async drop(id: string): Promise<void> {
    const gw = this.served.get(id);
    if (gw === undefined) return;
    this.served.delete(id);
    await this.server.close(gw, this.o.port);
  }

  isServing(id: string): boolean {
    return this.served.has(id);
  }

  async close(): Promise<void> {
    this.served.clear();
    await this.server.closeAll();
  }
}
