/**
 * berth's DNS server on loopback: container names answered from the resolver, the rest forwarded
 * to a fake upstream (on loopback: tests never send traffic elsewhere), and hostile input. Node's
 * own resolver (c-ares) is the real client.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Resolver as NodeResolver } from 'node:dns/promises';
import { connect, createServer, type Server } from 'node:net';
import { DnsServer, type Resolution, type Resolver } from '../../src/net/dns/server';
import { buildResponse, encodeName, ipOfPtrName, parseQuery, ptrName, RCODE, TYPE_A, TYPE_AAAA, TYPE_PTR } from '../../src/net/dns/message';

/** A query for `name` as a stub resolver sends it. */
function query(name: string, qtype = TYPE_A, id = 0x1234, extra: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([h, encodeName(name), tail, extra]);
}

function ask(port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => (s.close(), resolve(undefined)), timeoutMs);
    s.on('message', (m) => (clearTimeout(t), s.close(), resolve(m)));
    s.send(msg, port, '127.0.0.1');
  });
}

const rcodeOf = (b: Buffer) => b.readUInt16BE(2) & 0xf;
const ancount = (b: Buffer) => b.readUInt16BE(6);

/** A fake upstream on loopback: answers every A query with 192.0.2.55 (over UDP and TCP), or stays silent. */
class FakeUpstream {
  udp!: UdpSocket;
  tcp!: Server;
  port = 0;
  queries: string[] = [];
  silent = false;
  async start(): Promise<void> {
    this.udp = createSocket('udp4');
    await new Promise<void>((r) => this.udp.bind(0, '127.0.0.1', () => r()));
    this.port = this.udp.address().port;
    this.udp.on('message', (m, rinfo) => {
      const q = parseQuery(m);
      if (!q || this.silent) return;
      this.queries.push(`udp ${q.name}`);
      this.udp.send(buildResponse(q, RCODE.NOERROR, [{ type: 'A', address: '192.0.2.55', ttl: 30 }]), rinfo.port, rinfo.address);
    });
    this.tcp = createServer((c) => {
      let buf = Buffer.alloc(0);
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const q = parseQuery(buf.subarray(2, 2 + buf.readUInt16BE(0)))!;
        this.queries.push(`tcp ${q.name}`);
        const r = buildResponse(q, RCODE.NOERROR, [{ type: 'A', address: '192.0.2.56', ttl: 30 }]);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(r.length);
        c.end(Buffer.concat([len, r]));
      });
    });
    await new Promise<void>((r) => this.tcp.listen(this.port, '127.0.0.1', () => r()));
  }
  async stop(): Promise<void> {
    this.udp.close();
    await new Promise((r) => this.tcp.close(r));
  }
}

describe('DNS messages', () => {
  it('reads a query and answers it with the question echoed', () => {
    const q = parseQuery(query('Web.Example'))!;
    expect(q).toMatchObject({ id: 0x1234, name: 'web.example', qtype: TYPE_A, qclass: 1, opcode: 0, udpSize: 512 });
    const r = buildResponse(q, RCODE.NOERROR, [{ type: 'A', address: '10.1.2.3', ttl: 600 }]);
    expect(r.readUInt16BE(0)).toBe(0x1234);
    expect(r.readUInt16BE(2) & 0x8000).toBe(0x8000); // QR
    expect(ancount(r)).toBe(1);
    expect([...r.subarray(r.length - 4)]).toEqual([10, 1, 2, 3]);
  });

  it('reads the EDNS buffer size from an OPT record', () => {
    const opt = Buffer.from([0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]);
    const q = query('a', TYPE_A, 1, opt);
    q.writeUInt16BE(1, 10); // ARCOUNT
    expect(parseQuery(q)!.udpSize).toBe(4096);
  });

  it('refuses what is not one well-formed question: truncated, looping pointers, overlong names, responses', () => {
    const good = query('abc');
    for (let n = 0; n < good.length; n++) expect(parseQuery(good.subarray(0, n))).toBeUndefined();
    const loop = Buffer.from(good);
    loop[12] = 0xc0;
    loop[13] = 12; // points at itself
    expect(parseQuery(loop)).toBeUndefined();
    const fwd = Buffer.from(good);
    fwd[12] = 0xc0;
    fwd[13] = 40; // points forward
    expect(parseQuery(fwd)).toBeUndefined();
    expect(parseQuery(query(Array(50).fill('abcdefgh').join('.')))).toBeUndefined();
    const resp = Buffer.from(good);
    resp.writeUInt16BE(0x8000, 2);
    expect(parseQuery(resp)).toBeUndefined();
  });

  it('sets TC and leaves off answers that do not fit', () => {
    const q = parseQuery(query('many'))!;
    const answers = Array.from({ length: 100 }, (_, i) => ({ type: 'A' as const, address: `10.0.${i}.1`, ttl: 1 }));
    const r = buildResponse(q, RCODE.NOERROR, answers, 512);
    expect(r.length).toBeLessThanOrEqual(512);
    expect(r.readUInt16BE(2) & 0x0200).toBe(0x0200);
    expect(ancount(r)).toBeLessThan(100);
  });

  it('maps addresses to in-addr.arpa names and back', () => {
    expect(ptrName('10.213.1.2')).toBe('2.1.213.10.in-addr.arpa');
    expect(ipOfPtrName('2.1.213.10.in-addr.arpa')).toBe('10.213.1.2');
    expect(ipOfPtrName('example.com')).toBeUndefined();
  });
});

describe('DNS server', () => {
  const upstream = new FakeUpstream();
  let server: DnsServer;
  let port: number;
  let resolveImpl: Resolver;
  const names: Record<string, string[]> = { web: ['10.9.0.2'], db: ['10.9.0.3'], many: Array.from({ length: 60 }, (_, i) => `10.9.1.${i}`) };
  const defaultResolve: Resolver = (q, client) => {
    if (q.name === 'boom') throw new Error('resolver bug');
    if (q.qtype === TYPE_PTR) {
      const ip = ipOfPtrName(q.name);
      const hit = Object.entries(names).find(([, ips]) => ips.includes(ip ?? ''));
      return hit ? { answers: [{ type: 'PTR', name: `${hit[0]}.net1`, ttl: 600 }] } : { forward: [{ host: '127.0.0.1', port: upstream.port }] };
    }
    const ips = names[q.name];
    if (ips) return { answers: q.qtype === TYPE_A ? ips.map((address) => ({ type: 'A' as const, address, ttl: 600 })) : [] };
    if (client !== '127.0.0.1') return { rcode: 'REFUSED' };
    return { forward: [{ host: '127.0.0.1', port: upstream.port }] } satisfies Resolution;
  };

  beforeAll(async () => {
    await upstream.start();
    resolveImpl = defaultResolve;
    server = new DnsServer({ resolve: (q, c, l) => resolveImpl(q, c, l), forwardTimeoutMs: 300, maxInflight: 4 });
    port = await server.listen('127.0.0.1', 0);
  });
  afterAll(async () => {
    await server.closeAll();
    await upstream.stop();
  });

  const nodeResolver = () => {
    const r = new NodeResolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.0.0.1:${port}`]);
    return r;
  };

  it('answers names it knows (A, AAAA as no data, PTR) to a real client', async () => {
    const r = nodeResolver();
    expect(await r.resolve4('web')).toEqual(['10.9.0.2']);
    expect(await r.resolve4('WEB')).toEqual(['10.9.0.2']);
    await expect(r.resolve6('web')).rejects.toMatchObject({ code: 'ENODATA' });
    expect(await r.reverse('10.9.0.3')).toEqual(['db.net1']);
  });

  it('forwards the rest upstream, over UDP and over TCP', async () => {
    upstream.queries = [];
    expect(await nodeResolver().resolve4('example.org')).toEqual(['192.0.2.55']);
    expect(upstream.queries).toEqual(['udp example.org']);
    const len = Buffer.alloc(2);
    const q = query('tcp.example');
    len.writeUInt16BE(q.length);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const c = connect(port, '127.0.0.1', () => c.write(Buffer.concat([len, q])));
      let buf = Buffer.alloc(0);
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        c.destroy();
        resolve(buf.subarray(2));
      });
      c.on('error', reject);
    });
    expect([...reply.subarray(reply.length - 4)]).toEqual([192, 0, 2, 56]);
    expect(upstream.queries).toContain('tcp tcp.example');
  });

  it('a truncated UDP answer makes the client retry over TCP, where all of it fits', async () => {
    expect((await nodeResolver().resolve4('many')).length).toBe(60);
  });

  it('SERVFAIL when the upstream is silent, when too many forwards are in flight, or when the resolver throws', async () => {
    upstream.silent = true;
    try {
      const t0 = Date.now();
      const r = (await ask(port, query('slow.example')))!;
      expect(rcodeOf(r)).toBe(RCODE.SERVFAIL);
      expect(Date.now() - t0).toBeLessThan(1500);
      // Eight at once against a cap of four: four wait for the upstream, four fail at once.
      const started = Date.now();
      const fast: number[] = [];
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          ask(port, query(`q${i}.example`, TYPE_A, i)).then((m) => {
            if (m && rcodeOf(m) === RCODE.SERVFAIL && Date.now() - started < 200) fast.push(i);
          }),
        ),
      );
      expect(fast.length).toBe(4);
    } finally {
      upstream.silent = false;
    }
    expect(rcodeOf((await ask(port, query('boom')))!)).toBe(RCODE.SERVFAIL);
  });

  it('answers FORMERR to a broken query, NOTIMP to other opcodes, nothing to responses', async () => {
    const broken = query('x').subarray(0, 14);
    expect(rcodeOf((await ask(port, broken))!)).toBe(RCODE.FORMERR);
    const notify = query('x');
    notify.writeUInt16BE(0x2000, 2); // opcode 4
    expect(rcodeOf((await ask(port, notify))!)).toBe(RCODE.NOTIMP);
    const resp = query('x');
    resp.writeUInt16BE(0x8000, 2);
    expect(await ask(port, resp, 300)).toBeUndefined();
  });

  it('survives fuzzing (random bytes and mutated queries over UDP, garbage over TCP) and keeps answering', async () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const sock = createSocket('udp4');
    const base = [query('web'), query('many'), query('x.example', TYPE_AAAA), query('2.0.9.10.in-addr.arpa', TYPE_PTR)];
    for (let i = 0; i < 3000; i++) {
      let m: Buffer;
      if (i % 3 === 0) m = Buffer.from(Array.from({ length: Math.floor(rand() * 600) }, () => Math.floor(rand() * 256)));
      else {
        m = Buffer.from(base[i % base.length]!);
        for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
        if (rand() < 0.2) m = m.subarray(0, Math.floor(rand() * m.length));
      }
      sock.send(m, port, '127.0.0.1');
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    sock.close();
    for (const garbage of [Buffer.from([0xff, 0xff]), Buffer.alloc(70_000, 0x41), Buffer.from([0, 3, 1, 2])]) {
      await new Promise<void>((resolve) => {
        const c = connect(port, '127.0.0.1', () => c.end(garbage));
        c.on('error', () => resolve());
        c.on('close', () => resolve());
        c.resume();
        setTimeout(() => (c.destroy(), resolve()), 500);
      });
    }
    expect(await nodeResolver().resolve4('web')).toEqual(['10.9.0.2']);
  });

  it('closes idle TCP connections and caps how many there are', async () => {
    const s = new DnsServer({ resolve: () => ({ rcode: 'REFUSED' }), tcpIdleMs: 200, maxTcpConnections: 2 });
    const p = await s.listen('127.0.0.1', 0);
    try {
      const open = () =>
        new Promise<{ closedAfter: Promise<number> }>((resolve) => {
          const t0 = Date.now();
          const c = connect(p, '127.0.0.1');
          const closedAfter = new Promise<number>((r) => c.on('close', () => r(Date.now() - t0)));
          c.on('error', () => undefined);
          c.on('connect', () => resolve({ closedAfter }));
        });
      const a = await open();
      const b = await open();
      const c = await open();
      expect(await c.closedAfter).toBeLessThan(150); // over the cap: closed at once
      expect(await a.closedAfter).toBeGreaterThanOrEqual(150); // idle: closed after ~200 ms
      await b.closedAfter;
    } finally {
      await s.closeAll();
    }
  });
});
