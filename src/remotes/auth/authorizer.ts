import { permissionDenied, unavailable } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { responseError } from '../errors';
import type { HttpClient } from '../http';
import type { RegistryHost } from '../hosts';
import { parseChallenges } from './challenge';
import type { AuthChallenge, Credentials, CredentialsProvider } from './types';

/**
 * The registry auth flow (Docker's token spec, containerd's dockerAuthorizer): a host's first
 * 401 (or the /v2/ probe) names the scheme. Basic: the host's credentials on every request.
 * Bearer: a token per scope set from the realm (`GET realm?service=…&scope=…` with basic
 * credentials if any, or an OAuth2 refresh-token POST for identity tokens), cached until it
 * expires. A request that was sent with fresh authorization and still gets 401 means the
 * credentials are wrong: PermissionDenied, never a retry loop.
 */
interface HostAuth {
  challenge: AuthChallenge;
  credentials?: Credentials;
  tokens: Map<string, Promise<Token>>;
}

interface Token {
  value: string;
  expiresAt: number;
}

const TOKEN_RESPONSE_LIMIT = 1 << 20;
/** Docker's token spec: a token without `expires_in` lasts 60 s. */
const DEFAULT_TOKEN_SECONDS = 60;

export interface AuthorizerOptions {
  http: HttpClient;
  credentials?: CredentialsProvider;
  log: Logger;
  now?: () => number;
}

export class Authorizer {
  private readonly hosts = new Map<string, HostAuth>();
  private readonly now: () => number;

  constructor(private readonly o: AuthorizerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The Authorization header for a request to `host` needing `scopes`, if the host wants one. */
  async authorize(host: RegistryHost, scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    const h = this.hosts.get(host.name);
    if (!h) return undefined;
    const creds = h.credentials;
    if (creds && 'header' in creds) return creds.header;
    if (h.challenge.scheme === 'basic') {
      if (!creds || !('password' in creds))
        throw permissionDenied(`registry ${host.name}: requires basic authentication and no username/password was found for it`);
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    const all = [...new Set(scopes)].sort();
    const key = all.join(' ');
    const cached = h.tokens.get(key);
    if (cached) {
      const t = await cached.catch(() => undefined);
      if (t && t.expiresAt > this.now()) return `Bearer ${t.value}`;
      if (h.tokens.get(key) === cached) h.tokens.delete(key);
    }
    // Concurrent requests for the same scopes share one token request.
    let p = h.tokens.get(key);
    if (!p) {
      p = this.fetchToken(host, h, all, signal);
      h.tokens.set(key, p);
    }
    try {
      return `Bearer ${(await p).value}`;
    } catch (e) {
      if (h.tokens.get(key) === p) h.tokens.delete(key);
      throw e;
    }
  }

  /**
   * Records a 401's challenge (asking the credentials provider the first time a host challenges
   * with a scheme) and drops the cached token for `scopes`, which the server refused. Returns the
   * scopes the challenge asks for, which the caller adds to its retry. The caller retries once:
   * a second 401 for the same request means the credentials were rejected.
   */
  async unauthorized(host: RegistryHost, wwwAuthenticate: string | undefined, scopes: readonly string[], what: string): Promise<string[]> {
    const challenges = parseChallenges(wwwAuthenticate);
    const c = challenges.find((x) => x.scheme === 'bearer') ?? challenges.find((x) => x.scheme === 'basic');
    if (!c)
      throw permissionDenied(
        `${what}: 401 Unauthorized without a supported WWW-Authenticate challenge (${JSON.stringify((wwwAuthenticate ?? '').slice(0, 200))})`,
      );
    const prev = this.hosts.get(host.name);
    if (prev && prev.challenge.scheme === c.scheme && prev.challenge.params.realm === c.params.realm) {
      prev.challenge = c;
      prev.tokens.delete([...new Set(scopes)].sort().join(' '));
    } else {
      const credentials = await this.o.credentials?.(host.name, c);
      this.hosts.set(host.name, { challenge: c, credentials, tokens: new Map() });
    }
    return c.params.scope ? c.params.scope.split(' ').filter(Boolean) : [];
  }

  /** Why a request that was retried with fresh authorization still got 401. */
  rejection(host: RegistryHost, what: string, wwwAuthenticate: string | undefined): Error {
    const h = this.hosts.get(host.name);
    const err = parseChallenges(wwwAuthenticate).find((c) => c.params.error)?.params;
    const detail = err ? ` (${err.error}${err.error_description ? `: ${err.error_description}` : ''})` : '';
    if (!h?.credentials)
      return permissionDenied(`${what}: 401 Unauthorized: ${host.name} requires authentication and no credentials were found for it${detail}`);
    return permissionDenied(`${what}: 401 Unauthorized: the credentials for ${host.name} were rejected${detail}`);
  }

  private async fetchToken(host: RegistryHost, h: HostAuth, scopes: readonly string[], signal?: AbortSignal): Promise<Token> {
    const realm = h.challenge.params.realm;
    if (!realm) throw permissionDenied(`registry ${host.name}: bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw permissionDenied(`registry ${host.name}: bearer realm ${JSON.stringify(realm.slice(0, 200))} is not a URL`);
    }
    const service = h.challenge.params.service;
    const creds = h.credentials;
    const what = `token for ${host.name} from ${url.origin}${url.pathname}`;
    const t0 = this.now();
    let res;
    if (creds && 'identityToken' in creds) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: 'berth',
        ...(service ? { service } : {}),
      });
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.o.http.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        signal,
      });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds && 'password' in creds) {
        if (creds.username) url.searchParams.set('account', creds.username);
        headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      }
      res = await this.o.http.request({ method: 'GET', url, headers, signal });
    }
    if (res.status === 401 || res.status === 403) {
      const e = await responseError(`${what}`, res, 'PermissionDenied');
      throw permissionDenied(`${e.message}${creds ? ' (the credentials were rejected)' : ' (anonymous token refused)'}`);
    }
    if (res.status !== 200) throw await responseError(what, res);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse((await res.read(TOKEN_RESPONSE_LIMIT)).toString('utf8'));
    } catch (e) {
      throw unavailable(`${what}: the token server's answer is not JSON`, { cause: e });
    }
    const value = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!value) throw unavailable(`${what}: the token server's answer has no token`);
    const secs = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    this.o.log.debug('registry token', { host: host.name, scopes, expiresIn: secs });
    // Refresh a little early so a token does not expire between this check and the request.
    return { value, expiresAt: t0 + Math.max(1, secs - Math.min(10, secs / 10)) * 1000 };
  }
}
