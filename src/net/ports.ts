/**
 * Host ports that published container ports use, held open by berthd while they are published:
 * the port mappings themselves are DNAT rules (the portmap plugin), which a host process could
 * otherwise bind too, or another container publish again, without any error. Holding the
 * socket is what Docker's docker-proxy does as a side effect; a port held here is refused to
 * the next asker ("port is already allocated") and to other programs (EADDRINUSE). A port of 0
 * asks the kernel for a free one (`-P`): bound at once, so no one else can take it before the
 * mapping exists.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { alreadyExists, fromErrno, invalidArgument } from '../core/errors';

export type Proto = 'tcp' | 'udp';

export interface HostPort {
  /** '0.0.0.0' = every address. */
  ip: string;
  port: number;
  proto: Proto;
}

const key = (p: HostPort) => `${p.proto}/${p.ip}:${p.port}`;

function holdTcp(ip: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Connections only arrive here if a DNAT rule is missing: close them, never serve.
    const s = createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen({ host: ip, port, exclusive: true, backlog: 1 }, () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}

function holdUdp(ip: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    s.once('error', reject);
    s.bind({ address: ip, port, exclusive: true }, () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      s.on('message', () => undefined);
      resolve(s);
    });
  });
}

export class PortReservations {
  private readonly held = new Map<string, { close(): void }>();

  /** Holds ip:port (a free one when port is 0) and returns what is held. */
  async reserve(p: HostPort): Promise<HostPort> {
    if (!Number.isInteger(p.port) || p.port < 0 || p.port > 65535) throw invalidArgument(`host port ${p.port}: not a port number`);
    if (p.port !== 0 && this.held.has(key(p))) throw alreadyExists(`Bind for ${p.ip}:${p.port} failed: port is already allocated`);
    try {
      if (p.proto === 'tcp') {
        const s = await holdTcp(p.ip, p.port);
        const got: HostPort = { ...p, port: (s.address() as { port: number }).port };
        this.held.set(key(got), { close: () => s.close() });
        return got;
      }
      const s = await holdUdp(p.ip, p.port);
      const got: HostPort = { ...p, port: s.address().port };
      this.held.set(key(got), { close: () => s.close() });
      return got;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw alreadyExists(`Bind for ${p.ip}:${p.port}/${p.proto} failed: port is already allocated (in use on the host)`, { cause: e });
      if (code === 'EADDRNOTAVAIL') throw invalidArgument(`host IP ${p.ip} is not an address of this host`, { cause: e });
      throw fromErrno(e, `host port ${p.ip}:${p.port}/${p.proto}`);
    }
  }

  release(p: HostPort): void {
    const h = this.held.get(key(p));
    if (!h) return;
    this.held.delete(key(p));
    h.close();
  }

  isHeld(p: HostPort): boolean {
    return this.held.has(key(p));
  }

  closeAll(): void {
    for (const h of this.held.values()) h.close();
    this.held.clear();
  }
}
