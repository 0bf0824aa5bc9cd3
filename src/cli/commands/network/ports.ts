/** Published ports as `ps` and `port` show them. */
import type { engine } from '../../../client';

/** Docker's `ps` PORTS column: `127.0.0.1:8080->80/tcp, 53/udp` (a port not yet bound shows without a host side). */
export function portsColumn(ports: readonly engine.PortBinding[]): string {
  return ports.map((p) => (p.host_port ? `${p.host_ip}:${p.host_port}->${p.container_port}/${p.proto}` : `${p.container_port}/${p.proto}`)).join(', ');
}
