/** Transport: HTTPS with a per-host CA bundle, plain HTTP for insecure hosts, redirects to a storage backend. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectBytes as collect } from '../helpers/transfer';
import { RegistryClient, staticCredentials } from '../../src/remotes';
import { blobPath, type BuiltImage, writeOciImage } from '../helpers/oci';
import { selfSignedCert, startRegistry, writeHtpasswd, type Registry } from '../helpers/registry';
import { startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy';
import { run } from '../helpers/ctr';
import { describeWith, met, requireTool } from '../helpers/requires';

const NEEDS = [requireTool('docker-registry', 'skopeo', 'htpasswd', 'openssl')];

let work: string;
let img: BuiltImage;
beforeAll(async () => {
  if (!met(...NEEDS)) return;
  work = await mkdtemp(join(tmpdir(), 'berth-remotes-transport-'));
  img = await writeOciImage(join(work, 'layout'), { name: 'tr/app:1', layers: [{ entries: [{ path: 'f', type: 'file', content: 'transport\n' }] }] });
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describeWith(...NEEDS)('HTTPS registry', () => {
  let reg: Registry;
  let tls: { cert: string; key: string };
  beforeAll(async () => {
    tls = await selfSignedCert(work);
    reg = await startRegistry({ tls });
    const r = await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${img.layoutDir}:${img.refName}`, `docker://${reg.host}/tr/app:1`], {
      timeoutMs: 60_000,
    });
    if (r.code !== 0) throw new Error(r.stderr);
  }, 60_000);
  afterAll(() => reg?.stop());
  const ref = () => `${reg.host}/tr/app:1`;

  it('verifies the server against the host CA bundle from the configuration', async () => {
    const c = new RegistryClient({ hosts: { hosts: { [reg.host]: { plainHttp: false, ca: await readFile(tls.cert) } } } });
    expect((await c.repository(ref()).resolve()).digest).toBe(img.manifest.digest);
    c.close();
  });

  it('an unknown CA is a clear TLS error (FailedPrecondition: configuration), not retried', async () => {
    const c = new RegistryClient({ retry: { attempts: 2, baseMs: 5 }, hosts: { hosts: { [reg.host]: { plainHttp: false } } } });
    await expect(c.repository(ref()).resolve()).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringMatching(/TLS: .*self.signed.*trust the registry's CA/i),
    });
    c.close();
  });

  it('skip_verify accepts any certificate; plain HTTP to a TLS port says so', async () => {
    const c = new RegistryClient({ hosts: { hosts: { [reg.host]: { plainHttp: false, skipVerify: true } } } });
    expect((await c.repository(ref()).resolve()).digest).toBe(img.manifest.digest);
    c.close();
    const plain = new RegistryClient({ retry: { attempts: 1 } }); // 127.0.0.1 is loopback: plain HTTP by default
    await expect(plain.repository(ref()).resolve()).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('400') });
    plain.close();
  });
});

describeWith(...NEEDS)('redirects to a storage backend', () => {
  let reg: Registry;
  let proxy: RegistryProxy;
  let storage: Server;
  let storagePort: number;
  const seen: IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    const htpasswd = join(work, 'htpasswd');
    await writeHtpasswd(htpasswd, { u: 'p' });
    reg = await startRegistry({ auth: { htpasswd } });
    const r = await run(
      'skopeo',
      ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'u:p', `oci:${img.layoutDir}:${img.refName}`, `docker://${reg.host}/tr/app:1`],
      { timeoutMs: 60_000 },
    );
    if (r.code !== 0) throw new Error(r.stderr);
    proxy = await startRegistryProxy(reg);
    const layer = await readFile(blobPath(img.layoutDir, img.layers[0]!.digest));
    storage = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-length': String(layer.length) });
      res.end(layer);
    });
    await new Promise<void>((res) => storage.listen(0, '127.0.0.1', res));
    storagePort = (storage.address() as { port: number }).port;
  }, 60_000);
  afterAll(async () => {
    storage?.closeAllConnections();
    await new Promise((res) => storage?.close(res));
    await proxy?.stop();
    await reg?.stop();
  });

  it('follows a 307 for a blob to another origin without sending the registry credentials there', async () => {
    proxy.onRequest = (r) =>
      r.path.includes(`/blobs/${img.layers[0]!.digest}`)
        ? { reply: { status: 307, headers: { location: `http://127.0.0.1:${storagePort}/store/blob?sig=abc` } } }
        : undefined;
    const c = new RegistryClient({ credentials: staticCredentials({ [proxy.host]: { username: 'u', password: 'p' } }) });
    const got = await collect(c.repository(`${proxy.host}/tr/app:1`).fetchBlob(img.layers[0]!));
    expect(got.equals(await readFile(blobPath(img.layoutDir, img.layers[0]!.digest)))).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.authorization).toBeUndefined();
    expect(proxy.log.find((x) => x.path.includes('/blobs/'))!.headers.authorization).toMatch(/^Basic /);
    c.close();
  });
});
