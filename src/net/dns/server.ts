/**
 * A small DNS server for berth's bridge networks (Docker's embedded DNS, served on each
 * network's gateway address instead of 127.0.0.11 inside every container): UDP and TCP on each
 * address it listens on; the caller's resolver answers container names, and anything else is
 * forwarded upstream. It must never hurt berthd: replies are built without exceptions escaping,
 * forwards in flight are capped (beyond the cap a query gets SERVFAIL at once), TCP connections
 * are capped and time out when idle, and a message larger than DNS allows cannot be sent.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { errnoCode, fromErrno } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { nullLogger } from '../../core/logger';
import { forward, type Upstream } from './forward';
import { bareResponse, buildResponse, parseQuery, RCODE, readHeader, type Answer, type Query } from './message';

export type { Upstream } from './forward';

export interface DnsQuestion {
  /** Lower-case, no trailing dot. */
  name: string;
  qtype: number;
  qclass: number;
}

export type Resolution = { answers: Answer[] } | { rcode: 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL' } | { forward: readonly Upstream[] };

/** Answers a question from `client` (its address) received on `local` (the address it asked). */
export type Resolver = (q: DnsQuestion, client: string, local: string) => Resolution;

export interface DnsServerOptions {
  resolve: Resolver;
  /** Per upstream try (default 2 s). */
  forwardTimeoutMs?: number;
  /** Forwards in flight at once, over all addresses (default 256). */
  maxInflight?: number;
  /** TCP connections at once, per address (default 64). */
  maxTcpConnections?: number;
  /** A TCP connection with nothing to do is closed after this (default 10 s). */
  tcpIdleMs?: number;
  log?: Logger;
}

interface Listener {
  udp: UdpSocket;
  tcp: Server;
  conns: Set<Socket>;
}

export class DnsServer {
  private readonly listeners = new Map<string, Listener>();
  private inflight = 0;
  private readonly log: Logger;

  constructor(private readonly o: DnsServerOptions) {
    this.log = o.log ?? nullLogger;
  }

  /** Serves on address:port, UDP and TCP (port 0: any free port, the same for both); returns the port. */
  async listen(address: string, port = 53): Promise<number> {
    if (this.listeners.has(`${address}:${port}`)) return port;
    // Port 0: the UDP socket picks a free port, whose TCP twin may be taken (an outgoing
    // connection's ephemeral port): pick again a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.listenOnce(address, port);
      } catch (e) {
        if (port !== 0 || attempt >= 8 || errnoCode((e as { cause?: unknown }).cause) !== 'EADDRINUSE') throw e;
      }
    }
  }

  private async listenOnce(address: string, port: number): Promise<number> {
    const udp = createSocket({ type: 'udp4', reuseAddr: false });
    const conns = new Set<Socket>();
    const tcp = createServer((c) => this.onTcp(c, conns, address));
    try {
      await new Promise<void>((res, rej) => {
        udp.once('error', rej);
        udp.bind({ address, port, exclusive: true }, () => (udp.off('error', rej), res()));
      });
      port = udp.address().port;
      await new Promise<void>((res, rej) => {
        tcp.once('error', rej);
        tcp.listen({ host: address, port, exclusive: true }, () => (tcp.off('error', rej), res()));
      });
    } catch (e) {
      try {
        udp.close();
      } catch {
        /* never bound */
      }
      tcp.close();
      throw fromErrno(e, `DNS on ${address}:${port}`);
    }
    const k = `${address}:${port}`;
    udp.on('error', (e) => this.log.warn('dns: udp socket error', { address, err: e }));
    tcp.on('error', (e) => this.log.warn('dns: tcp server error', { address, err: e }));
    udp.on('message', (msg, rinfo) => void this.onUdp(udp, msg, rinfo.address, rinfo.port, address));
    this.listeners.set(k, { udp, tcp, conns });
    return port;
  }

  listening(): string[] {
    return [...this.listeners.keys()];
  }

  async close(address: string, port = 53): Promise<void> {
    const k = `${address}:${port}`;
    const l = this.listeners.get(k);
    if (!l) return;
    this.listeners.delete(k);
    l.udp.close();
    for (const c of l.conns) c.destroy();
    await new Promise<void>((r) => l.tcp.close(() => r()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((k) => this.close(k.slice(0, k.lastIndexOf(':')), Number(k.slice(k.lastIndexOf(':') + 1)))));
  }

  /** The reply to one message, or undefined to stay silent (a malformed message, a response). */
  private async answer(msg: Buffer, client: string, local: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const q = parseQuery(msg);
    if (!q) {
      const h = readHeader(msg);
      return h && !(h.flags & 0x8000) ? bareResponse(h.id, h.flags, RCODE.FORMERR) : undefined;
    }
    if (q.opcode !== 0) return bareResponse(q.id, q.flags, RCODE.NOTIMP);
    const limit = transport === 'udp' ? q.udpSize : 65535;
    let r: Resolution;
    try {
      r = this.o.resolve({ name: q.name, qtype: q.qtype, qclass: q.qclass }, client, local);
    } catch (e) {
      this.log.error('dns: resolver failed', { name: q.name, err: e as Error });
      return buildResponse(q, RCODE.SERVFAIL);
    }
    if ('answers' in r) return buildResponse(q, RCODE.NOERROR, r.answers, limit);
    if ('rcode' in r) return buildResponse(q, RCODE[r.rcode]);
    return this.forward(q, msg, r.forward, transport);
  }

  private async forward(q: Query, msg: Buffer, upstreams: readonly Upstream[], transport: 'udp' | 'tcp'): Promise<Buffer> {
    if (upstreams.length === 0) return buildResponse(q, RCODE.SERVFAIL);
    if (this.inflight >= (this.o.maxInflight ?? 256)) return buildResponse(q, RCODE.SERVFAIL);
    this.inflight++;
    try {
      return (await forward(msg, upstreams, transport, this.o.forwardTimeoutMs ?? 2000)) ?? buildResponse(q, RCODE.SERVFAIL);
    } finally {
      this.inflight--;
    }
  }

  private async onUdp(sock: UdpSocket, msg: Buffer, host: string, port: number, local: string): Promise<void> {
    try {
      const reply = await this.answer(msg, host, local, 'udp');
      if (reply) sock.send(reply, port, host, () => undefined);
    } catch (e) {
      this.log.error('dns: udp query failed', { err: e as Error });
    }
  }

  private onTcp(c: Socket, conns: Set<Socket>, local: string): void {
    if (conns.size >= (this.o.maxTcpConnections ?? 64)) return void c.destroy();
    conns.add(c);
    c.setTimeout(this.o.tcpIdleMs ?? 10_000, () => c.destroy());
    c.on('close', () => conns.delete(c));
    c.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let busy = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const msg = buf.subarray(2, 2 + len);
          buf = buf.subarray(2 + len);
          c.pause(); // one message at a time per connection
          const reply = await this.answer(Buffer.from(msg), c.remoteAddress ?? '', local, 'tcp');
          if (c.destroyed) return;
          if (!reply) return void c.destroy();
          const head = Buffer.alloc(2);
          head.writeUInt16BE(reply.length);
          c.write(Buffer.concat([head, reply]));
          c.resume();
        }
      } catch (e) {
        this.log.error('dns: tcp query failed', { err: e as Error });
        c.destroy();
      } finally {
        busy = false;
      }
    };
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length > 2 + 65535 + 65535) return void c.destroy(); // more than one whole message queued: not a DNS client
      void pump();
    });
  }
}
