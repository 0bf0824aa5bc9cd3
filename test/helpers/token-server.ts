/**
 * A small token server for distribution's `auth: token:` (Docker's token spec): GET /token with
 * `service`, `scope` (repeatable) and optional Basic credentials answers a JWT signed RS256 by a
 * key made here with the openssl CLI, its self-signed certificate in the `x5c` header and in the
 * registry's rootcertbundle (distribution 2.8 verifies the chain, issuer, audience and times,
 * then the access claims against the request). Users get every action they ask for on any
 * repository; anonymous requests get `pull` on the repositories listed as public, else 401.
 */
import { createServer, type Server } from 'node:http';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCert } from './registry';

export interface TokenServer {
  /** The realm URL (`http://127.0.0.1:<port>/token`). */
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate for the registry's `rootcertbundle`. */
  certPath: string;
  /** Every token request, in order. */
  requests: Array<{ account?: string; user?: string; scopes: string[]; status: number }>;
  /** Token lifetime in seconds for the next tokens. */
  expiresIn: number;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export async function startTokenServer(opts: { users: Record<string, string>; publicRepos?: string[]; service?: string }): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-token-'));
  const { cert: certPath, key: keyPath } = await selfSignedCert(dir, 'berth-test-token-issuer');
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certPath)).raw;
  const service = opts.service ?? 'berth-test-registry';
  const issuer = 'berth-test-issuer';
  const requests: TokenServer['requests'] = [];

  const jwt = (sub: string, access: Array<{ type: string; name: string; actions: string[] }>, expiresIn: number) => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub, aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${signingInput}.${b64url(sign('sha256', Buffer.from(signingInput), key))}`;
  };

  const ts: TokenServer = {
    realm: '',
    service,
    issuer,
    certPath,
    requests,
    expiresIn: 300,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((res) => server.close(res));
      await rm(dir, { recursive: true, force: true });
    },
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean);
    let user: string | undefined;
    const m = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    const deny = (why: string) => {
      requests.push({ account: url.searchParams.get('account') ?? undefined, user, scopes, status: 401 });
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: why }] }));
    };
    if (url.pathname !== '/token' || url.searchParams.get('service') !== service) return deny('unknown service');
    if (m) {
      const decoded = Buffer.from(m[1]!, 'base64').toString();
      const i = decoded.indexOf(':');
      user = decoded.slice(0, i);
      if (opts.users[user] === undefined || opts.users[user] !== decoded.slice(i + 1)) return deny('invalid username or password');
    }
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      const name = rest.join(':');
      const allowed = user ? actions : (opts.publicRepos ?? []).includes(name) ? actions.filter((a) => a === 'pull') : [];
      return { type: type!, name, actions: allowed };
    });
    if (!user && access.length > 0 && access.every((a) => a.actions.length === 0)) return deny('authentication required');
    requests.push({ account: url.searchParams.get('account') ?? undefined, user, scopes, status: 200 });
    const token = jwt(user ?? '', access, ts.expiresIn);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: ts.expiresIn, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  ts.realm = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`;
  return ts;
}
