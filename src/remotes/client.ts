import { notFound } from '../core/errors';
import { type Logger, nullLogger } from '../core/logger';
import { Authorizer } from './auth/authorizer';
import type { CredentialsProvider } from './auth/types';
import { responseError } from './errors';
import { type HostsConfig, type RegistryHost, resolveHost } from './hosts';
import { DEFAULT_TIMEOUTS, HttpClient, type HttpResponse, type Method, type Timeouts } from './http';
import { parseReference, type Reference } from '../core/reference';
import { Repository } from './repository';
import { backoffMs, DEFAULT_RETRY, isRetryable, isRetryableStatus, type RetryPolicy, sleep } from './retry';

export interface RegistryClientOptions {
  hosts?: HostsConfig;
  /** Asked on a host's first challenge (the Transfer client's stream, ~/.docker/config.json, …). */
  credentials?: CredentialsProvider;
  timeouts?: Partial<Timeouts>;
  retry?: Partial<RetryPolicy>;
  log?: Logger;
  userAgent?: string;
  /** Sent with every request (containerd's RegistryResolver.headers); berth's own headers win. */
  headers?: Readonly<Record<string, string>>;
  /** Every host over plain HTTP (containerd's default_scheme "http", ctr's --plain-http). */
  plainHttp?: boolean;
}

/** One registry request, as the repository operations describe it. */
export interface RegistryRequest {
  method: Method;
  /** A path on the registry's origin (`/v2/…`) or an absolute URL (upload Locations). */
  path: string | URL;
  headers?: Record<string, string>;
  /** Made afresh for every try (a stream cannot be sent twice). */
  body?: () => Buffer | AsyncIterable<Buffer>;
  /** Token scopes, e.g. `repository:library/busybox:pull`. */
  scopes: readonly string[];
  signal?: AbortSignal;
  /** For messages: `resolve docker.io/library/busybox:latest`. */
  what: string;
  /** False for requests that must not be sent twice (a streamed upload whose source is gone). */
  retry?: boolean;
}

/**
 * berth's OCI distribution client: one per pull/push (or per daemon), holding keep-alive
 * connections, per-host auth state and tokens. `repository(ref)` gives the operations.
 */
export class RegistryClient {
  readonly http: HttpClient;
  readonly auth: Authorizer;
  readonly log: Logger;
  readonly retryPolicy: RetryPolicy;
  private readonly probes = new Map<string, Promise<void>>();

  constructor(private readonly opts: RegistryClientOptions = {}) {
    this.log = opts.log ?? nullLogger;
    this.http = new HttpClient({ ...DEFAULT_TIMEOUTS, ...opts.timeouts }, opts.userAgent);
    this.auth = new Authorizer({ http: this.http, credentials: opts.credentials, log: this.log });
    this.retryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
  }

  host(name: string): RegistryHost {
    const h = resolveHost(name, this.opts.hosts);
    return this.opts.plainHttp && h.origin.startsWith('https:') ? { ...h, origin: `http:${h.origin.slice(6)}` } : h;
  }

  repository(ref: Reference | string): Repository {
    const r = typeof ref === 'string' ? parseReference(ref) : ref;
    return new Repository(this, this.host(r.domain), r);
  }

  close(): void {
    this.http.close();
  }

  /**
   * `GET /v2/` once per host (Docker's ping): learns the auth scheme before the first real
   * request, and says clearly when the host is not a registry.
   */
  probe(host: RegistryHost, signal?: AbortSignal): Promise<void> {
    let p = this.probes.get(host.name);
    if (!p) {
      p = this.ping(host, signal);
      this.probes.set(host.name, p);
      p.catch(() => this.probes.delete(host.name));
    }
    return p;
  }

  private async ping(host: RegistryHost, signal?: AbortSignal): Promise<void> {
    const what = `registry ${host.name} (${host.origin}/v2/)`;
    const res = await this.withRetries(what, signal, true, () =>
      this.http.request({ method: 'GET', url: new URL('/v2/', host.origin), headers: { ...this.opts.headers }, signal, tls: host }),
    );
    if (res.status === 401) {
      const wa = res.header('www-authenticate');
      res.discard();
      await this.auth.unauthorized(host, wa, [], what);
      return;
    }
    if (res.status === 404) {
      res.discard();
      throw notFound(`${what}: 404 Not Found: not an OCI distribution (v2) registry`);
    }
    if (res.status < 200 || res.status > 299) throw await responseError(what, res);
    res.discard();
  }

  /** Sends a request with authorization, one re-authorization on 401, and retries. */
  async send(host: RegistryHost, req: RegistryRequest): Promise<HttpResponse> {
    await this.probe(host, req.signal);
    const url = typeof req.path === 'string' ? new URL(req.path, host.origin) : req.path;
    const ownOrigin = url.origin === new URL(host.origin).origin;
    let scopes = [...req.scopes];
    let reauthorized = false;
    for (;;) {
      const authz = ownOrigin ? await this.auth.authorize(host, scopes, req.signal) : undefined;
      const res = await this.withRetries(req.what, req.signal, req.retry !== false, () =>
        this.http.request({
          method: req.method,
          url,
          headers: { ...this.opts.headers, ...req.headers, ...(authz ? { authorization: authz } : {}) },
          body: req.body?.(),
          signal: req.signal,
          tls: host,
        }),
      );
      if (res.status !== 401 || !ownOrigin) return res;
      const wa = res.header('www-authenticate');
      res.discard();
      if (reauthorized) throw this.auth.rejection(host, req.what, wa);
      scopes = [...new Set([...scopes, ...(await this.auth.unauthorized(host, wa, scopes, req.what))])];
      reauthorized = true;
    }
  }

  /** Runs `attempt` until it gives a non-retryable answer or the tries run out. */
  async withRetries(what: string, signal: AbortSignal | undefined, retry: boolean, attempt: () => Promise<HttpResponse>): Promise<HttpResponse> {
    const p = this.retryPolicy;
    for (let n = 1; ; n++) {
      let res: HttpResponse;
      try {
        res = await attempt();
      } catch (e) {
        if (!retry || !isRetryable(e) || n >= p.attempts || signal?.aborted) throw e;
        const ms = backoffMs(p, n);
        this.log.debug('registry request failed, retrying', { what, attempt: n, inMs: ms, err: e as Error });
        await sleep(ms, signal);
        continue;
      }
      if (!retry || !isRetryableStatus(res.status) || n >= p.attempts) return res;
      const ms = backoffMs(p, n, res.header('retry-after'));
      res.discard();
      this.log.debug('registry busy, retrying', { what, status: res.status, attempt: n, inMs: ms });
      await sleep(ms, signal);
    }
  }
}
