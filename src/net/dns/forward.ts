/**
 * Forwarding a query the resolver does not answer itself to the upstream servers, in order, over
 * the transport the client used. Each UDP try uses a fresh socket (a random source port) and
 * accepts an answer only from the server asked, with the query's id: the usual defence against
 * forged answers.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { messageId } from './message';

export interface Upstream {
  host: string;
  port: number;
}

function udpOnce(query: Buffer, u: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  const id = messageId(query);
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    let done = false;
    const finish = (v: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.close();
      resolve(v);
    };
    const t = setTimeout(() => finish(undefined), timeoutMs);
    s.on('error', () => finish(undefined));
    s.on('message', (msg, rinfo) => {
      if (rinfo.address !== u.host || rinfo.port !== u.port) return;
      if (msg.length < 12 || messageId(msg) !== id || !(msg[2]! & 0x80)) return;
      finish(msg);
    });
    s.send(query, u.port, u.host, (e) => e && finish(undefined));
  });
}

function tcpOnce(query: Buffer, u: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: u.host, port: u.port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (v: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => finish(undefined), timeoutMs);
    s.on('error', () => finish(undefined));
    s.on('close', () => finish(undefined));
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      s.write(Buffer.concat([len, query]));
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        finish(messageId(msg) === messageId(query) ? msg : undefined);
      }
    });
  });
}

/** The first answer of the upstreams, tried in order; undefined when none answered in time. */
export async function forward(query: Buffer, upstreams: readonly Upstream[], transport: 'udp' | 'tcp', timeoutMs: number): Promise<Buffer | undefined> {
  for (const u of upstreams) {
    const r = transport === 'udp' ? await udpOnce(query, u, timeoutMs) : await tcpOnce(query, u, timeoutMs);
    if (r) return r;
  }
  return undefined;
}
