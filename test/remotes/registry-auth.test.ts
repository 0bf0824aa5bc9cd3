/** Registry auth against a real docker-registry: htpasswd basic auth and token auth (a token server fixture). */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Of } from '../../src/core/digest';
import { dockerConfigCredentials, RegistryClient, staticCredentials } from '../../src/remotes';
import { collectBytes as collect } from '../helpers/transfer';
import { type BuiltImage, writeOciImage } from '../helpers/oci';
import { startRegistry, writeHtpasswd, type Registry } from '../helpers/registry';
import { run } from '../helpers/ctr';
import { startTokenServer, type TokenServer } from '../helpers/token-server';
import { describeWith, met, requireTool } from '../helpers/requires';

const NEEDS = [requireTool('docker-registry', 'skopeo', 'htpasswd', 'openssl')];

const quick = { retry: { attempts: 2, baseMs: 5 } };

let work: string;
let img: BuiltImage;
beforeAll(async () => {
  if (!met(...NEEDS)) return;
  work = await mkdtemp(join(tmpdir(), 'berth-remotes-auth-'));
  img = await writeOciImage(join(work, 'layout'), { name: 'auth/app:1', layers: [{ entries: [{ path: 'f', type: 'file', content: 'auth test\n' }] }] });
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** skopeo copy with credentials (the registries below refuse anonymous pushes). */
async function seed(reg: Registry, repoTag: string, creds: string): Promise<void> {
  const r = await run(
    'skopeo',
    ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${img.layoutDir}:${img.refName}`, `docker://${reg.host}/${repoTag}`],
    { timeoutMs: 60_000 },
  );
  if (r.code !== 0) throw new Error(`skopeo copy: ${r.stderr}`);
}

async function pull(c: RegistryClient, ref: string): Promise<string> {
  const repo = c.repository(ref);
  const desc = await repo.resolve();
  await repo.fetchManifest(desc);
  await collect(repo.fetchBlob(img.config));
  return desc.digest;
}

describeWith(...NEEDS)('basic auth (htpasswd)', () => {
  let reg: Registry;
  beforeAll(async () => {
    const htpasswd = join(work, 'htpasswd');
    await writeHtpasswd(htpasswd, { alice: 'wonderland' });
    reg = await startRegistry({ auth: { htpasswd } });
    await seed(reg, 'auth/app:1', 'alice:wonderland');
  }, 60_000);
  afterAll(() => reg?.stop());

  it('pulls with the right credentials', async () => {
    const c = new RegistryClient({ ...quick, credentials: staticCredentials({ [reg.host]: { username: 'alice', password: 'wonderland' } }) });
    expect(await pull(c, `${reg.host}/auth/app:1`)).toBe(img.manifest.digest);
    c.close();
  });

  it('takes credentials from a docker config.json', async () => {
    const dir = join(work, 'dockercfg');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:wonderland').toString('base64') } } }));
    const c = new RegistryClient({ ...quick, credentials: dockerConfigCredentials({ dir }) });
    expect(await pull(c, `${reg.host}/auth/app:1`)).toBe(img.manifest.digest);
    c.close();
  });

  it('a wrong password is PermissionDenied, no retry loop', async () => {
    const c = new RegistryClient({ ...quick, credentials: staticCredentials({ [reg.host]: { username: 'alice', password: 'wrong' } }) });
    await expect(c.repository(`${reg.host}/auth/app:1`).resolve()).rejects.toMatchObject({
      kind: 'PermissionDenied',
      message: expect.stringContaining(`the credentials for ${reg.host} were rejected`),
    });
    c.close();
  });

  it('no credentials is PermissionDenied saying none were found', async () => {
    const c = new RegistryClient(quick);
    await expect(c.repository(`${reg.host}/auth/app:1`).resolve()).rejects.toMatchObject({
      kind: 'PermissionDenied',
      message: expect.stringContaining('no username/password was found'),
    });
    c.close();
  });
});

describeWith(...NEEDS)('token auth (Bearer realm/service/scope)', () => {
  let reg: Registry;
  let ts: TokenServer;
  beforeAll(async () => {
    ts = await startTokenServer({ users: { bob: 'builder' }, publicRepos: ['public/app'] });
    reg = await startRegistry({ auth: { token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.certPath } } });
    await seed(reg, 'private/app:1', 'bob:builder');
    await seed(reg, 'public/app:1', 'bob:builder');
  }, 60_000);
  beforeEach(() => {
    ts.requests.length = 0;
    ts.expiresIn = 300;
  });
  afterAll(async () => {
    await reg?.stop();
    await ts?.stop();
  });

  it('pulls with credentials: one token per scope set, sent with basic credentials, reused until it expires', async () => {
    const c = new RegistryClient({ ...quick, credentials: staticCredentials({ [reg.host]: { username: 'bob', password: 'builder' } }) });
    expect(await pull(c, `${reg.host}/private/app:1`)).toBe(img.manifest.digest);
    expect(ts.requests).toEqual([{ account: 'bob', user: 'bob', scopes: ['repository:private/app:pull'], status: 200 }]);
    expect(await pull(c, `${reg.host}/private/app:1`)).toBe(img.manifest.digest);
    expect(ts.requests).toHaveLength(1);
    c.close();
  });

  it('an expired token is fetched again', async () => {
    ts.expiresIn = 1;
    const c = new RegistryClient({ ...quick, credentials: staticCredentials({ [reg.host]: { username: 'bob', password: 'builder' } }) });
    await pull(c, `${reg.host}/private/app:1`);
    await new Promise((r) => setTimeout(r, 1100));
    await pull(c, `${reg.host}/private/app:1`);
    expect(ts.requests.filter((r) => r.status === 200)).toHaveLength(2);
    c.close();
  });

  it('anonymous pulls of a public repository get an anonymous token', async () => {
    const c = new RegistryClient(quick);
    expect(await pull(c, `${reg.host}/public/app:1`)).toBe(img.manifest.digest);
    expect(ts.requests[0]).toMatchObject({ user: undefined, status: 200 });
    c.close();
  });

  it('a wrong password is PermissionDenied from the token server', async () => {
    const c = new RegistryClient({ ...quick, credentials: staticCredentials({ [reg.host]: { username: 'bob', password: 'nope' } }) });
    await expect(c.repository(`${reg.host}/private/app:1`).resolve()).rejects.toMatchObject({
      kind: 'PermissionDenied',
      message: expect.stringMatching(/token for .* 401 Unauthorized: invalid username or password .*credentials were rejected/),
    });
    c.close();
  });

  it('anonymous access to a private repository is PermissionDenied', async () => {
    const c = new RegistryClient(quick);
    await expect(c.repository(`${reg.host}/private/app:1`).resolve()).rejects.toMatchObject({ kind: 'PermissionDenied' });
    c.close();
  });

  it('a token without push access is refused for an upload (the registry says 401 again)', async () => {
    const c = new RegistryClient(quick);
    const repo = c.repository(`${reg.host}/public/app:2`);
    const body = Buffer.from('x');
    const desc = { mediaType: 'application/octet-stream', digest: sha256Of(body), size: 1 };
    await expect(
      repo.pushBlob(desc, async function* () {
        yield body;
      }),
    ).rejects.toMatchObject({ kind: 'PermissionDenied', message: expect.stringContaining('no credentials were found for it (insufficient_scope)') });
    c.close();
  });
});
