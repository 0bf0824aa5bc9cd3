import { codecOf, packAny } from '../../api';
import type { AuthResponse } from '../../api/gen/containerd/types/transfer/registry';
import { invalidArgument, permissionDenied } from '../../core/errors';
import type { AuthChallenge, Credentials, CredentialsProvider } from '../../remotes';
import type { AnyStream } from './manager';

const AUTH_REQUEST = 'containerd.types.transfer.AuthRequest';
const AUTH_RESPONSE = 'containerd.types.transfer.AuthResponse';

/** A challenge written back as the registry sent it (`Bearer realm="…",service="…"`). */
export function formatChallenge(c: AuthChallenge): string {
  const scheme = c.scheme.charAt(0).toUpperCase() + c.scheme.slice(1);
  const params = Object.entries(c.params).map(([k, v]) => `${k}="${v.replace(/(["\\])/g, '\\$1')}"`);
  return params.length ? `${scheme} ${params.join(',')}` : scheme;
}

/** An AuthResponse as registry credentials (containerd's credCallback); NONE is anonymous. */
export function credentialsOf(r: AuthResponse): Credentials | undefined {
  switch (r.authType) {
    case 'CREDENTIALS':
      return { username: r.username, password: r.secret };
    case 'REFRESH':
      return { identityToken: r.secret, ...(r.username ? { username: r.username } : {}) };
    case 'HEADER':
      return { header: r.secret };
    case 'NONE':
      return undefined;
    default:
      throw invalidArgument(`AuthResponse.authType: unknown value`);
  }
}

/**
 * Credentials asked of the client over its auth stream: for each registry host that challenges,
 * one AuthRequest{host, reference, wwwauthenticate}, answered by one AuthResponse. Requests go
 * one at a time (the stream pairs each answer with the last question). A stream that ends
 * without an answer is PermissionDenied: the client gave no credentials.
 */
export function credentialsOverStream(s: AnyStream, reference: string): CredentialsProvider {
  let queue: Promise<unknown> = Promise.resolve();
  const ask = async (host: string, challenge: AuthChallenge): Promise<Credentials | undefined> => {
    await s.send(packAny(AUTH_REQUEST, { host, reference, wwwauthenticate: [formatChallenge(challenge)] }));
    const m = await s.recv();
    if (!m) throw permissionDenied(`registry ${host}: the client's auth stream ended without answering for ${reference}`);
    if (m.type_url.replace(/^.*\//, '') !== AUTH_RESPONSE)
      throw invalidArgument(`auth stream: expected ${AUTH_RESPONSE}, got ${JSON.stringify(m.type_url.slice(0, 200))}`);
    return credentialsOf(codecOf(AUTH_RESPONSE).decode(m.value) as AuthResponse);
  };
  return (host, challenge) => {
    const p = queue.then(() => ask(host, challenge));
    queue = p.catch(() => undefined);
    return p;
  };
}
