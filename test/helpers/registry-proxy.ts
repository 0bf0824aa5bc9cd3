/**
 * A loopback HTTP proxy in front of a test registry that misbehaves on request: cuts a response
 * body after N bytes (a dropped connection), corrupts a byte, ignores Range, stalls, answers a
 * status of its own, drops headers. It counts what it forwards, so tests can tell what a client
 * downloaded again. The Host header is passed through, so the registry's Locations point here.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ProxyAction {
  /** Close the connection after this many body bytes. */
  cutAfter?: number;
  /** Flip the bits of the body byte at this offset (of this response). */
  corruptAt?: number;
  /** Forward without the Range header (the registry answers 200 with the whole blob). */
  ignoreRange?: boolean;
  /** Send headers, then no body bytes for this long (then continue). */
  stallMs?: number;
  /** Answer this status with an empty body instead of forwarding. */
  status?: number;
  /** Remove these response headers (lower case). */
  dropHeaders?: string[];
  /** After this many body bytes, wait for `until` before sending the rest. */
  holdAfter?: number;
  until?: Promise<unknown>;
  /** Never answer (the connection stays open until the client gives up). */
  hang?: boolean;
  /** Answer this instead of forwarding. */
  reply?: { status: number; headers?: Record<string, string>; body?: string | Buffer };
  /** Forward to this path instead of the request's (the rewrite sees the registry's answer to it). */
  rewritePath?: string;
  /** Forward, then answer what this makes of the registry's whole response (headers lower case). */
  rewrite?: (res: { status: number; headers: Record<string, string>; body: Buffer }) => { status: number; headers: Record<string, string>; body: Buffer };
}

export interface ProxiedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  status: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  /** When the request arrived and its response closed (ms since the epoch). */
  at: number;
  end?: number;
}

export interface RegistryProxy {
  port: number;
  host: string;
  log: ProxiedRequest[];
  /** TCP connections accepted so far. */
  connections: number;
  /** Decides the misbehaviour for each request (undefined = forward faithfully). */
  onRequest?: (req: { method: string; path: string; headers: IncomingMessage['headers']; n: number }) => ProxyAction | undefined;
  /** Body bytes of GETs whose path matches. */
  bytesFor(re: RegExp): number;
  stop(): Promise<void>;
}

export async function startRegistryProxy(target: { port: number }): Promise<RegistryProxy> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const agent = new Agent({ keepAlive: true });
  let n = 0;
  const proxy: RegistryProxy = {
    port: 0,
    host: '',
    log: [],
    connections: 0,
    bytesFor: (re) => proxy.log.filter((r) => r.method === 'GET' && re.test(r.path)).reduce((a, r) => a + r.bytes, 0),
    stop: async () => {
      for (const s of sockets) s.destroy();
      for (const t of timers) clearTimeout(t);
      agent.destroy();
      await new Promise((res) => server.close(res));
    },
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const action = proxy.onRequest?.({ method: req.method ?? 'GET', path, headers: req.headers, n: n++ }) ?? {};
    const entry: ProxiedRequest = { method: req.method ?? 'GET', path, headers: req.headers, status: 0, bytes: 0, at: Date.now() };
    proxy.log.push(entry);
    res.on('close', () => (entry.end = Date.now()));
    if (action.hang) {
      req.resume();
      return;
    }
    if (action.reply) {
      const body = Buffer.from(action.reply.body ?? '');
      entry.status = action.reply.status;
      entry.bytes = body.length;
      req.resume();
      res.writeHead(action.reply.status, { 'content-length': String(body.length), ...action.reply.headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (action.status) {
      entry.status = action.status;
      req.resume();
      res.writeHead(action.status, { 'content-length': '0' });
      res.end();
      return;
    }
    const headers = { ...req.headers };
    if (action.ignoreRange) delete headers.range;
    const up = request({ host: '127.0.0.1', port: target.port, method: req.method, path: action.rewritePath ?? path, headers, agent }, (upRes) => {
      entry.status = upRes.statusCode ?? 0;
      if (action.rewrite) return void rewritten(upRes, res, entry, action.rewrite);
      const h = { ...upRes.headers };
      for (const d of action.dropHeaders ?? []) delete h[d];
      res.writeHead(upRes.statusCode ?? 502, h);
      let sent = 0;
      let holding: Promise<unknown> = Promise.resolve();
      const pump = () => {
        upRes.on('data', (chunk: Buffer) => {
          if (action.corruptAt !== undefined && action.corruptAt >= sent && action.corruptAt < sent + chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[action.corruptAt - sent] ^= 0xff;
          }
          if (action.holdAfter !== undefined && sent + chunk.length > action.holdAfter && action.until) {
            const until = action.until;
            action.until = undefined;
            const head = chunk.subarray(0, action.holdAfter - sent);
            const rest = chunk.subarray(action.holdAfter - sent);
            sent += head.length;
            entry.bytes += head.length;
            res.write(head);
            upRes.pause();
            holding = until;
            void until.then(() => {
              if (res.destroyed) return void upRes.destroy();
              sent += rest.length;
              entry.bytes += rest.length;
              res.write(rest);
              upRes.resume();
            });
            return;
          }
          if (action.cutAfter !== undefined && sent + chunk.length > action.cutAfter) {
            const part = chunk.subarray(0, action.cutAfter - sent);
            entry.bytes += part.length;
            res.write(part, () => res.socket?.destroy());
            upRes.destroy();
            return;
          }
          sent += chunk.length;
          entry.bytes += chunk.length;
          res.write(chunk);
        });
        upRes.on('end', () => void holding.then(() => res.end()));
      };
      if (action.stallMs) {
        res.flushHeaders();
        upRes.pause();
        const t = setTimeout(() => {
          timers.delete(t);
          upRes.resume();
          pump();
        }, action.stallMs);
        timers.add(t);
      } else pump();
    });
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    proxy.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  proxy.port = (server.address() as { port: number }).port;
  proxy.host = `127.0.0.1:${proxy.port}`;
  return proxy;
}

/** The registry's whole response through `fn`, sent with its own length. */
function rewritten(upRes: IncomingMessage, res: ServerResponse, entry: ProxiedRequest, fn: NonNullable<ProxyAction['rewrite']>): void {
  const chunks: Buffer[] = [];
  upRes.on('data', (c: Buffer) => chunks.push(c));
  upRes.on('error', () => res.socket?.destroy());
  upRes.on('end', () => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(upRes.headers)) if (typeof v === 'string') headers[k] = v;
    const out = fn({ status: upRes.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
    entry.status = out.status;
    entry.bytes = out.body.length;
    res.writeHead(out.status, { ...out.headers, 'content-length': String(out.body.length) });
    res.end(out.body);
  });
}
