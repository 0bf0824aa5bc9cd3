import { codecOf, packAny } from '../../api';
import type { AuthRequest } from '../../api/gen/containerd/types/transfer/registry';
import { invalidArgument } from '../../core/errors';
import { bare, type AnyStream } from './streams';

/** What berthd asks when a registry wants credentials. */
export interface CredentialsRequest {
  /** The registry as named in the reference (`docker.io`, `127.0.0.1:5000`). */
  host: string;
  /** The reference being pulled or pushed. */
  reference: string;
  /** The registry's `WWW-Authenticate` challenges (`Bearer realm="…",service="…"`, `Basic realm="…"`). */
  challenges: string[];
}

/**
 * Credentials for one registry host, as containerd's AuthResponse carries them: a username and
 * password (sent to Basic registries, exchanged for a token at a Bearer realm), an identity
 * (refresh) token, or a ready Authorization header value.
 */
export type Credentials = { username: string; password: string } | { identityToken: string; username?: string } | { header: string };

/** Asked once per registry host and operation; undefined means anonymous. */
export type CredentialsCallback = (req: CredentialsRequest) => Promise<Credentials | undefined> | Credentials | undefined;

const AUTH_REQUEST = 'containerd.types.transfer.AuthRequest';
const AUTH_RESPONSE = 'containerd.types.transfer.AuthResponse';

function response(c: Credentials | undefined) {
  if (!c) return { authType: 'NONE' as const };
  if ('header' in c) return { authType: 'HEADER' as const, secret: c.header };
  if ('identityToken' in c) return { authType: 'REFRESH' as const, secret: c.identityToken, username: c.username ?? '' };
  return { authType: 'CREDENTIALS' as const, username: c.username, secret: c.password };
}

/** Answers every AuthRequest on `s` with the callback's credentials until the server ends the stream. */
export async function answerAuth(s: AnyStream, cb: CredentialsCallback): Promise<void> {
  const codec = codecOf(AUTH_REQUEST);
  for (let m = await s.recv(); m; m = await s.recv()) {
    if (bare(m.type_url) !== AUTH_REQUEST) throw invalidArgument(`auth stream: expected ${AUTH_REQUEST}, got ${m.type_url}`);
    const r = codec.decode(m.value) as AuthRequest;
    const c = await cb({ host: r.host, reference: r.reference, challenges: r.wwwauthenticate });
    await s.send(packAny(AUTH_RESPONSE, response(c)));
  }
}
