/**
 * Registry credentials on the client's side, in Docker's client config
 * (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`): what `berth login` writes and
 * `logout` removes (`auths[<host>].auth`, base64 of `user:password`, Docker Hub under
 * `https://index.docker.io/v1/`), and what pull and push answer berthd's AuthRequests with
 * (credHelpers and credsStore too, as the docker CLI reads them). One file for docker and berth:
 * a `docker login` is seen by berth and the other way round.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CredentialsCallback } from '../../../client';
import { dockerConfigCredentials } from '../../../remotes/auth/docker-config';
import { DEFAULT_DOMAIN } from '../../../core/reference';

export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

/** The key Docker files a registry under: `https://index.docker.io/v1/` for Docker Hub, else the host. */
export function configKey(server: string | undefined): string {
  const h = (server ?? '')
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  return !h || h === DEFAULT_DOMAIN || h === 'index.docker.io' || h === 'registry-1.docker.io' ? DOCKER_HUB_KEY : h;
}

/** Answers berthd's AuthRequests from the config file; nothing there means anonymous. */
export function configCredentials(): CredentialsCallback {
  const provider = dockerConfigCredentials({ dir: dirname(configPath()) });
  return async ({ host, challenges }) => {
    // The config's answer does not depend on the challenge (the docker CLI's neither).
    const c = await provider(host, { scheme: (challenges[0] ?? '').split(' ')[0]!.toLowerCase(), params: {} });
    if (!c) return undefined;
    if ('header' in c) return { header: c.header };
    if ('identityToken' in c) return { identityToken: c.identityToken };
    return { username: c.username, password: c.password };
  };
}

type Config = { auths?: Record<string, Record<string, unknown>> } & Record<string, unknown>;

async function readConfig(path: string): Promise<Config> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Config;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Writes the whole file anew (temp file, then rename), owner-only: it holds passwords. */
async function writeConfig(path: string, cfg: Config): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // node:crypto is required only here: `run` loads this module and rarely stores credentials.
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto'); // eslint-disable-line @typescript-eslint/no-require-imports
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(cfg, null, '\t')}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

export async function storeLogin(key: string, username: string, password: string): Promise<string> {
  const path = configPath();
  const cfg = await readConfig(path);
  cfg.auths = { ...(cfg.auths ?? {}), [key]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  await writeConfig(path, cfg);
  return path;
}

/** Removes the key's entry; false when there was none. */
export async function removeLogin(key: string): Promise<boolean> {
  const path = configPath();
  const cfg = await readConfig(path);
  if (!cfg.auths || !(key in cfg.auths)) return false;
  delete cfg.auths[key];
  await writeConfig(path, cfg);
  return true;
}
