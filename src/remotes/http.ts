import type * as http from 'node:http';
import type * as https from 'node:https';
import type * as nodeTls from 'node:tls';
import { Readable } from 'node:stream';
import { trustedCa } from '../core/node/extra-ca';
import { canceled, deadlineExceeded, failedPrecondition, invalidArgument, SupervisorError, unavailable } from '../core/errors';

/**
 * berth's HTTP/1.1 client for registries, on Node's own http/https: keep-alive agents per origin
 * (with the host's CA bundle), a deadline for the response headers, a stall timeout on bodies
 * (no byte for that long aborts the request, so a stalled registry cannot hang a pull), abort by
 * signal, and redirects for GET/HEAD (blob downloads redirect to storage backends) that drop
 * Authorization when they leave the origin. Connection failures and timeouts are Unavailable
 * (what the caller may retry); an abort is Canceled.
 */
/*
 * Node's http, https and tls load at the first request, not with the module: berthd has this file
 * from start-up on but talks to a registry only on a pull or push, and the three (compiled from
 * source under berthd's V8 flags) cost its start ~10 ms of CPU and its idle RSS ~1.5 MiB.
 */
interface NodeHttp {
  http: typeof http;
  https: typeof https;
  tls: typeof nodeTls;
}
let nodeHttp: NodeHttp | undefined;
/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
const modules = (): NodeHttp => (nodeHttp ??= { http: require('node:http'), https: require('node:https'), tls: require('node:tls') });
/* eslint-enable @typescript-eslint/no-require-imports */

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TlsOptions {
  ca?: string | Buffer;
  rejectUnauthorized?: boolean;
}

export interface HttpRequest {
  method: Method;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer, or a stream whose length the caller states in Content-Length. */
  body?: Buffer | AsyncIterable<Buffer>;
  signal?: AbortSignal;
  tls?: TlsOptions;
  /** Follow redirects (GET/HEAD only); default 5. */
  maxRedirects?: number;
}

export interface Timeouts {
  /** From sending the request to the response headers. */
  headersMs: number;
  /** Longest wait for the next body byte. */
  stallMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { headersMs: 30_000, stallMs: 30_000 };

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** Where the response came from (after redirects). */
  readonly url: URL;
  header(name: string): string | undefined;
  /** The body, once; each wait for data is bounded by the stall timeout. */
  body(): AsyncIterable<Buffer>;
  /** The whole body, refusing more than `limit` bytes. */
  read(limit: number): Promise<Buffer>;
  /** Drops the body (and the connection if it is still sending). */
  discard(): void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const sameOrigin = (a: URL, b: URL) => a.protocol === b.protocol && a.host === b.host;

export class HttpClient {
  private readonly agents = new Map<string, http.Agent>();

  constructor(
    private readonly timeouts: Timeouts = DEFAULT_TIMEOUTS,
    private readonly userAgent = 'berth/0.1',
  ) {}

  /** Sends the request, following redirects for GET/HEAD. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let headers = { ...(req.headers ?? {}) };
    const follow = req.method === 'GET' || req.method === 'HEAD' ? (req.maxRedirects ?? 5) : 0;
    for (let hop = 0; ; hop++) {
      const res = await this.once({ ...req, url, headers });
      const location = res.header('location');
      if (!REDIRECTS.has(res.status) || !location || hop >= follow) return res;
      res.discard();
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw invalidArgument(`${req.method} ${url.href}: redirect to unsupported URL ${JSON.stringify(location.slice(0, 200))}`);
      if (!sameOrigin(next, url)) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      }
      url = next;
    }
  }

  /** Closes idle keep-alive sockets (in-flight requests finish). */
  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  private agent(url: URL, tls: TlsOptions | undefined): http.Agent {
    const https_ = url.protocol === 'https:';
    const key = `${url.protocol}//${url.host}|${https_ ? `${tls?.rejectUnauthorized !== false}|${tls?.ca ? String(tls.ca) : ''}` : ''}`;
    let a = this.agents.get(key);
    if (!a) {
      const m = modules();
      // One secure context per agent: a `ca` option alone would parse every root again per connection.
      const ca = https_ ? trustedCa(m.tls.rootCertificates, tls?.ca ? String(tls.ca) : undefined) : undefined;
      a = https_
        ? new m.https.Agent({
            keepAlive: true,
            maxSockets: 16,
            rejectUnauthorized: tls?.rejectUnauthorized !== false,
            ...(ca ? { secureContext: m.tls.createSecureContext({ ca }) } : {}),
          })
        : new m.http.Agent({ keepAlive: true, maxSockets: 16 });
      this.agents.set(key, a);
    }
    return a;
  }

  private once(req: HttpRequest): Promise<HttpResponse> {
    const what = `${req.method} ${req.url.href}`;
    const { signal } = req;
    if (signal?.aborted) return Promise.reject(canceled(`${what}: canceled`));
    return new Promise<HttpResponse>((resolve, reject) => {
      const mod = req.url.protocol === 'https:' ? modules().https : modules().http;
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...(req.headers ?? {}) };
      if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
      else if (!req.body && (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH')) headers['content-length'] ??= '0';
      let settled = false;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        cleanup();
        reject(e);
      };
      const r = mod.request(req.url, { method: req.method, headers, agent: this.agent(req.url, req.tls) });
      const timer = setTimeout(() => r.destroy(deadlineExceeded(`${what}: no response within ${this.timeouts.headersMs} ms`)), this.timeouts.headersMs);
      const onAbort = () => r.destroy(canceled(`${what}: canceled`));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      r.on('error', (e) => fail(transportError(what, e, signal)));
      r.on('response', (res) => {
        if (settled) return void res.destroy();
        settled = true;
        cleanup();
        resolve(new Response(res, req.method, req.url, what, this.timeouts.stallMs, signal));
      });
      if (!req.body || Buffer.isBuffer(req.body)) r.end(req.body);
      else {
        const src = Readable.from(req.body, { objectMode: false });
        src.on('error', (e) => r.destroy(e));
        src.pipe(r);
      }
    });
  }
}

const CERT_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** A socket-level failure as the taxonomy sees it (kept as the cause). */
export function transportError(what: string, e: unknown, signal?: AbortSignal): SupervisorError {
  if (e instanceof SupervisorError) return e;
  if (signal?.aborted) return canceled(`${what}: canceled`, { cause: e });
  const code = (e as { code?: string }).code;
  const msg = (e as Error)?.message ?? String(e);
  // Certificate problems are configuration, not weather: never retried.
  if (code && (CERT_ERRORS.has(code) || code.startsWith('ERR_TLS_CERT'))) {
    return failedPrecondition(`${what}: TLS: ${msg} (trust the registry's CA in its host configuration, or mark the host insecure)`, { cause: e });
  }
  if (code === 'EPROTO' && /wrong version number|http request/i.test(msg)) {
    return failedPrecondition(`${what}: the registry does not speak HTTPS here (configure it as insecure for plain HTTP): ${msg}`, { cause: e });
  }
  return unavailable(`${what}: ${code ? `${code}: ` : ''}${msg}`, { cause: e });
}

class Response implements HttpResponse {
  private consumed = false;

  constructor(
    private readonly res: http.IncomingMessage,
    private readonly method: Method,
    readonly url: URL,
    private readonly what: string,
    private readonly stallMs: number,
    private readonly signal?: AbortSignal,
  ) {}

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  get headers(): http.IncomingHttpHeaders {
    return this.res.headers;
  }

  header(name: string): string | undefined {
    const v = this.res.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  async *body(): AsyncGenerator<Buffer> {
    if (this.consumed) throw new Error(`${this.what}: body read twice`);
    this.consumed = true;
    const res = this.res;
    const onAbort = () => res.destroy(canceled(`${this.what}: canceled`));
    this.signal?.addEventListener('abort', onAbort, { once: true });
    const it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(unavailable(`${this.what}: no data from the registry for ${this.stallMs} ms`)), this.stallMs);
        });
        let r: IteratorResult<Buffer>;
        try {
          r = await Promise.race([it.next(), stalled]);
        } catch (e) {
          throw transportError(`${this.what}: reading the body`, e, this.signal);
        } finally {
          clearTimeout(timer);
        }
        if (r.done) return;
        yield r.value;
      }
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
      if (!res.complete) res.destroy();
    }
  }

  async read(limit: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of this.body()) {
      n += c.length;
      if (n > limit) {
        this.res.destroy();
        throw invalidArgument(`${this.what}: response larger than ${limit} bytes`);
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks, n);
  }

  /**
   * A keep-alive socket goes back to its agent only once the response has ended, so a short
   * remainder (or none: HEAD, 204, a complete message) is drained; a long one cuts the connection.
   */
  discard(): void {
    if (this.consumed) return;
    this.consumed = true;
    const len = Number(this.res.headers['content-length'] ?? NaN);
    const empty = this.method === 'HEAD' || this.status === 204 || this.status === 304;
    if (empty || this.res.complete || (Number.isFinite(len) && len <= 64 * 1024)) this.res.resume();
    else this.res.destroy();
  }
}
