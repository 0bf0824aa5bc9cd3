/**
 * Credentials as a registry client needs them. The Transfer service will ask its client for them
 * over a stream (containerd's AuthRequest/AuthResponse: CREDENTIALS, REFRESH, HEADER), berth's
 * daemon reads ~/.docker/config.json; both answer through a CredentialsProvider.
 */
export type Credentials =
  /** Basic credentials (sent to Basic registries, and to a Bearer realm to get a token). */
  | { username: string; password: string }
  /** A refresh token (`identitytoken` in docker's config): exchanged at the realm by OAuth2 POST. */
  | { identityToken: string; username?: string }
  /** A ready Authorization header value (containerd's AuthType HEADER, docker's `registrytoken`). */
  | { header: string };

/** One `WWW-Authenticate` challenge: scheme (lower case) and its parameters. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Asked once per registry host and client, on its first challenge; undefined = anonymous.
 * `host` is the registry as named in references (`docker.io`, `127.0.0.1:5000`).
 */
export type CredentialsProvider = (host: string, challenge: AuthChallenge) => Promise<Credentials | undefined>;

/** Asks each provider in turn; the first that has credentials wins. */
export function chainCredentials(...providers: Array<CredentialsProvider | undefined>): CredentialsProvider {
  const ps = providers.filter((p): p is CredentialsProvider => !!p);
  return async (host, challenge) => {
    for (const p of ps) {
      const c = await p(host, challenge);
      if (c) return c;
    }
    return undefined;
  };
}

/** Fixed credentials per host (tests, CLI flags such as `--user`). */
export function staticCredentials(byHost: Record<string, Credentials>): CredentialsProvider {
  return async (host) => byHost[host];
}
