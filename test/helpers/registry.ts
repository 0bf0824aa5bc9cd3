/**
 * A private loopback registry (Debian's docker-registry, distribution v2) with filesystem storage
 * under a temp dir, plus pushImage() via skopeo from an OCI layout built by ./oci.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { run } from './ctr';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface Registry {
  dir: string;
  port: number;
  /** `127.0.0.1:<port>`, the host part of references (`127.0.0.1:5000/library/busybox:latest`). */
  host: string;
  log(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the registry binds it right after; races are unlikely on loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? httpsRequest : request)(url, { timeout: 1000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Registry authentication: htpasswd (bcrypt entries) or a token server (see ./token-server). */
export type RegistryAuth = { htpasswd: string } | { token: { realm: string; service: string; issuer: string; rootCertBundle: string } };

function authConfig(auth: RegistryAuth | undefined): string {
  if (!auth) return '';
  if ('htpasswd' in auth) return `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${auth.htpasswd}\n`;
  const t = auth.token;
  return `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootCertBundle}\n`;
}

/**
 * A key and self-signed certificate made with the openssl CLI: for 127.0.0.1 (SAN IP) by default,
 * else for the common name `cn` alone (a token issuer's signing certificate).
 */
export async function selfSignedCert(dir: string, cn = '127.0.0.1'): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'tls-cert.pem');
  const key = join(dir, 'tls-key.pem');
  const r = await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    ...(cn === '127.0.0.1' ? ['-addext', 'subjectAltName=IP:127.0.0.1'] : []),
  ]);
  if (r.code !== 0) throw new Error(`openssl exited ${r.code}: ${r.stderr}`);
  return { cert, key };
}

export async function startRegistry(opts: { timeoutMs?: number; auth?: RegistryAuth; tls?: { cert: string; key: string } } = {}): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const config = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${opts.tls ? `  tls:\n    certificate: ${opts.tls.cert}\n    key: ${opts.tls.key}\n` : ''}${authConfig(opts.auth)}`;
  await writeFile(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  // With auth, /v2/ answers 401 once the registry is up.
  for (let st = 0; st !== 200 && st !== 401; st = await httpStatus(`${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/v2/`)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on :${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { dir, port, host: `127.0.0.1:${port}`, log: () => stderr, stop };
}

/** bcrypt htpasswd lines (distribution accepts only bcrypt), written with `htpasswd -nbB`. */
export async function writeHtpasswd(path: string, users: Record<string, string>): Promise<void> {
  const lines: string[] = [];
  for (const [user, pass] of Object.entries(users)) {
    const r = await run('htpasswd', ['-nbB', user, pass]);
    if (r.code !== 0) throw new Error(`htpasswd exited ${r.code}: ${r.stderr}`);
    lines.push(r.stdout.trim());
  }
  await writeFile(path, lines.join('\n') + '\n');
}

/** Runs fn with a fresh registry and always stops it. */
export async function withRegistry<T>(fn: (r: Registry) => Promise<T>, opts: { auth?: RegistryAuth } = {}): Promise<T> {
  const r = await startRegistry(opts);
  try {
    return await fn(r);
  } finally {
    await r.stop();
  }
}

/**
 * Pushes image `ref` (its org.opencontainers.image.ref.name in the layout, which ./oci sets to the
 * full name) with all its platforms to `<registry>/<repoTag>`; returns the pushed reference. The
 * layout entry must use OCI media types: skopeo's oci: transport skips Docker-typed entries.
 */
export async function pushImage(registry: Registry, layoutDir: string, ref: string, repoTag: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const dest = `${registry.host}/${repoTag}`;
  const r = await run('skopeo', ['copy', '--quiet', '--all', '--dest-tls-verify=false', '--preserve-digests', `oci:${layoutDir}:${ref}`, `docker://${dest}`], {
    timeoutMs: opts.timeoutMs ?? 120000,
  });
  if (r.code !== 0) throw new Error(`skopeo copy to ${dest} exited ${r.code ?? r.signal}: ${r.stderr}`);
  return dest;
}
