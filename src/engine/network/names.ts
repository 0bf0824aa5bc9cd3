/**
 * The names containers on user networks resolve, and berthd's resolver over them (Docker's
 * embedded DNS, answered on each network's gateway). A container is known on each of its user
 * networks by its name, its aliases there and its short id. A query is answered from the
 * networks of the container asking (the network it asked through first); PTR gives
 * `<name>.<network>`; the rest is forwarded to the container's --dns servers or berthd's
 * upstreams, except from a container only on internal networks, and never for an address that
 * is not a container (berthd is no open resolver).
 */
import { TYPE_A, TYPE_PTR, ipOfPtrName, type Answer } from '../../net/dns/message';
import type { Resolution, Resolver, Upstream } from '../../net/dns/server';
import type { Sandbox } from './sandbox';
import type { NetworkRecord } from './types';

/** Docker's TTL for container names. */
const TTL = 600;

interface NetIndex {
  /** dns name → addresses */
  names: Map<string, string[]>;
  /** address → the container there */
  ips: Map<string, { id: string; name: string }>;
}

export class ContainerNames {
  private readonly sandboxes = new Map<string, Sandbox>();
  private index = new Map<string, NetIndex>();
  private dirty = true;

  set(s: Sandbox): void {
    this.sandboxes.set(s.id, s);
    this.dirty = true;
  }

  delete(id: string): void {
    if (this.sandboxes.delete(id)) this.dirty = true;
  }

  private net(id: string): NetIndex | undefined {
    if (this.dirty) {
      this.index = new Map();
      for (const s of this.sandboxes.values())
        for (const e of s.endpoints) {
          let n = this.index.get(e.networkId);
          if (!n) this.index.set(e.networkId, (n = { names: new Map(), ips: new Map() }));
          n.ips.set(e.ipAddress, { id: s.id, name: s.name });
          for (const dn of e.dnsNames) {
            const k = dn.toLowerCase();
            n.names.set(k, [...(n.names.get(k) ?? []), e.ipAddress]);
          }
        }
      this.dirty = false;
    }
    return this.index.get(id);
  }

  /**
   * The resolver for the DNS server. `network` finds the user network whose gateway `local` is;
   * `upstreams` are berthd's defaults.
   */
  resolver(
    network: (gateway: string) => NetworkRecord | undefined,
    networkById: (id: string) => NetworkRecord | undefined,
    upstreams: () => readonly Upstream[],
  ): Resolver {
    return (q, client, local): Resolution => {
      const via = network(local);
      if (!via) return { rcode: 'REFUSED' };
      const asker = this.net(via.id)?.ips.get(client);
      const sb = asker ? this.sandboxes.get(asker.id) : undefined;
      const nets = [via, ...(sb?.endpoints.filter((e) => e.networkId !== via.id).map((e) => networkById(e.networkId)) ?? [])].filter(
        (n): n is NetworkRecord => !!n && !n.isDefault,
      );

      if (q.qtype === TYPE_PTR) {
        const ip = ipOfPtrName(q.name);
        for (const n of nets) {
          const hit = ip ? this.net(n.id)?.ips.get(ip) : undefined;
          if (hit) return { answers: [{ type: 'PTR', name: `${hit.name}.${n.name}`, ttl: TTL }] };
        }
      } else {
        for (const n of nets) {
          const idx = this.net(n.id);
          const name = q.name.endsWith(`.${n.name.toLowerCase()}`) ? q.name.slice(0, -(n.name.length + 1)) : q.name;
          const ips = idx?.names.get(name);
          if (!ips?.length) continue;
          // Known name, other record types (AAAA, MX…): no data, not a forward that would say NXDOMAIN.
          if (q.qtype !== TYPE_A) return { answers: [] };
          const answers: Answer[] = shuffle(ips).map((address) => ({ type: 'A', address, ttl: TTL }));
          return { answers };
        }
      }
      if (!sb) return { rcode: 'REFUSED' };
      if (sb.endpoints.every((e) => networkById(e.networkId)?.internal ?? true)) return { rcode: 'REFUSED' };
      const own = sb.dnsServers.map((s) => ({ host: s, port: 53 }));
      return { forward: own.length ? own : upstreams() };
    };
  }
}

function shuffle<T>(a: readonly T[]): T[] {
  const out = [...a];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
