import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { errnoCode, failedPrecondition, invalidArgument, permissionDenied, unavailable } from '../../core/errors';
import { DEFAULT_DOMAIN } from '../../core/reference';
import type { Credentials, CredentialsProvider } from './types';

/**
 * Credentials from Docker's client config (`$DOCKER_CONFIG/config.json`, default
 * `~/.docker/config.json`), the way the docker CLI reads them:
 *  - `credHelpers[<host>]`, else `credsStore`: the external `docker-credential-<name>` program
 *    (`get`, server URL on stdin, JSON on stdout; `Username` "<token>" means an identity token).
 *    A helper that is not installed is a clear FailedPrecondition, never a silent anonymous pull;
 *  - else `auths[<host>]`: base64 `user:pass` in `auth` (or `username`/`password`),
 *    `identitytoken` (a refresh token), `registrytoken` (a bearer token).
 * Docker Hub's key is `https://index.docker.io/v1/`.
 */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

const AuthEntrySchema = z
  .object({
    auth: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    identitytoken: z.string().optional(),
    registrytoken: z.string().optional(),
  })
  .passthrough();
const ConfigSchema = z
  .object({
    auths: z.record(z.string(), AuthEntrySchema).optional(),
    credsStore: z.string().optional(),
    credHelpers: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();
type DockerConfig = z.infer<typeof ConfigSchema>;

export interface DockerConfigOptions {
  /** Directory holding config.json; default $DOCKER_CONFIG, else ~/.docker. */
  dir?: string;
  env?: NodeJS.ProcessEnv;
  /** Longest a credential helper may take. */
  helperTimeoutMs?: number;
}

/** `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/x` → `host:5000`. */
function keyHost(key: string): string {
  const h = key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
  return h === 'index.docker.io' || h === 'registry-1.docker.io' ? DEFAULT_DOMAIN : h;
}

const serverUrl = (host: string) => (host === DEFAULT_DOMAIN ? DOCKER_HUB_KEY : host);

async function loadConfig(path: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw failedPrecondition(`docker config ${path}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`docker config ${path}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) throw invalidArgument(`docker config ${path}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

function fromEntry(path: string, key: string, e: z.infer<typeof AuthEntrySchema>): Credentials | undefined {
  if (e.registrytoken) return { header: `Bearer ${e.registrytoken}` };
  let username = e.username ?? '';
  let password = e.password ?? '';
  if (e.auth) {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw invalidArgument(`docker config ${path}: auths[${JSON.stringify(key)}].auth is not base64 of "user:password"`);
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  if (e.identitytoken) return { identityToken: e.identitytoken, ...(username ? { username } : {}) };
  if (username || password) return { username, password };
  return undefined;
}

/** Runs `docker-credential-<name> get`; undefined when it has nothing for the host. */
export function runCredentialHelper(
  name: string,
  host: string,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; configuredBy: string },
): Promise<Credentials | undefined> {
  const bin = `docker-credential-${name}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return Promise.reject(invalidArgument(`credential helper ${JSON.stringify(name)} (${opts.configuredBy}): invalid name`));
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['get'], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(timer);
      if (errnoCode(e) === 'ENOENT')
        reject(failedPrecondition(`credential helper ${bin} not found in PATH (${opts.configuredBy}); install it or remove it from the config`, { cause: e }));
      else reject(unavailable(`credential helper ${bin}: ${(e as Error).message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const msg = (out || err).trim();
      if (code !== 0) {
        if (/credentials not found/i.test(msg)) return resolve(undefined);
        return reject(permissionDenied(`credential helper ${bin} failed for ${host} (${signal ?? `exit ${code}`}): ${msg.slice(0, 300)}`));
      }
      try {
        const j = JSON.parse(out) as { Username?: string; Secret?: string };
        if (!j.Secret) return resolve(undefined);
        resolve(j.Username === '<token>' ? { identityToken: j.Secret } : { username: j.Username ?? '', password: j.Secret });
      } catch (e) {
        reject(invalidArgument(`credential helper ${bin}: output is not JSON: ${out.slice(0, 200)}`, { cause: e }));
      }
    });
    child.stdin.end(serverUrl(host));
  });
}

export function dockerConfigCredentials(opts: DockerConfigOptions = {}): CredentialsProvider {
  const env = opts.env ?? process.env;
  const path = join(opts.dir ?? env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  return async (host) => {
    const cfg = await loadConfig(path);
    if (!cfg) return undefined;
    const helper = Object.entries(cfg.credHelpers ?? {}).find(([k]) => keyHost(k) === host);
    if (helper) return runCredentialHelper(helper[1], host, { env, timeoutMs: opts.helperTimeoutMs, configuredBy: `credHelpers in ${path}` });
    if (cfg.credsStore) return runCredentialHelper(cfg.credsStore, host, { env, timeoutMs: opts.helperTimeoutMs, configuredBy: `credsStore in ${path}` });
    const entries = Object.entries(cfg.auths ?? {});
    // An exact key first (`host:port`), then any key that names the same host (`https://host/v1/`).
    const hit = entries.find(([k]) => k === serverUrl(host)) ?? entries.find(([k]) => keyHost(k) === host);
    return hit ? fromEntry(path, hit[0], hit[1]) : undefined;
  };
}
