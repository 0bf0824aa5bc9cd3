/**
 * The registry client against a misbehaving registry: a loopback proxy in front of a real
 * docker-registry refuses HEAD, drops headers, cuts connections mid-blob, ignores Range,
 * corrupts bytes, stalls and answers 5xx.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectBytes as collect } from '../helpers/transfer';
import { RegistryClient } from '../../src/remotes';
import { MEDIA_TYPE } from '../../src/images/media-types';
import { blobPath, type BuiltImage, pseudoRandom, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, type Registry } from '../helpers/registry';
import { startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy';
import { describeWith, requireTool } from '../helpers/requires';

describeWith(requireTool('docker-registry', 'skopeo'))('registry client against faults', () => {
  let reg: Registry;
  let proxy: RegistryProxy;
  let work: string;
  let img: BuiltImage;
  let layer: Buffer;
  const fast = () => new RegistryClient({ retry: { attempts: 4, baseMs: 5, maxMs: 20 }, timeouts: { headersMs: 2000, stallMs: 300 } });
  const ref = () => `${proxy.host}/faults/app:1`;
  const layerPath = () => `/v2/faults/app/blobs/${img.layers[0]!.digest}`;

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startRegistryProxy(reg);
    work = await mkdtemp(join(tmpdir(), 'berth-remotes-faults-'));
    img = await writeOciImage(join(work, 'layout'), {
      name: 'faults/app:1',
      layers: [{ entries: [{ path: 'data', type: 'file', content: pseudoRandom(600_000, 7) }], gzipLevel: 1 }],
    });
    await pushImage(reg, img.layoutDir, img.refName, 'faults/app:1');
    layer = await readFile(blobPath(img.layoutDir, img.layers[0]!.digest));
  }, 120_000);
  afterEach(() => {
    proxy.onRequest = undefined;
    proxy.log.length = 0;
  });
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('HEAD refused (405): resolves with GET and hashes the body', async () => {
    proxy.onRequest = (r) => (r.method === 'HEAD' && r.path.includes('/manifests/') ? { status: 405 } : undefined);
    const c = fast();
    expect(await c.repository(ref()).resolve()).toEqual({ mediaType: MEDIA_TYPE.ociManifest, digest: img.manifest.digest, size: img.manifest.size });
    expect(proxy.log.filter((r) => r.path.includes('/manifests/')).map((r) => r.method)).toEqual(['HEAD', 'GET']);
    c.close();
  });

  it('HEAD without Docker-Content-Digest: resolves with GET and hashes the body', async () => {
    proxy.onRequest = (r) => (r.path.includes('/manifests/') ? { dropHeaders: ['docker-content-digest'] } : undefined);
    const c = fast();
    expect((await c.repository(ref()).resolve()).digest).toBe(img.manifest.digest);
    expect(proxy.log.filter((r) => r.path.includes('/manifests/')).map((r) => r.method)).toEqual(['HEAD', 'GET']);
    c.close();
  });

  it('a Docker schema 1 manifest is refused clearly (NotImplemented)', async () => {
    proxy.onRequest = (r) =>
      r.path.includes('/manifests/')
        ? {
            reply: {
              status: 200,
              headers: { 'content-type': MEDIA_TYPE.dockerSchema1Signed, 'docker-content-digest': `sha256:${'1'.repeat(64)}` },
              body: '{"schemaVersion":1}',
            },
          }
        : undefined;
    const c = fast();
    await expect(c.repository(ref()).resolve()).rejects.toMatchObject({ kind: 'NotImplemented', message: expect.stringContaining('Docker schema 1') });
    c.close();
  });

  it('a connection dropped mid-blob is resumed with Range and the blob completes verified', async () => {
    proxy.onRequest = (r) => (r.path === layerPath() && !r.headers.range ? { cutAfter: 200_000 } : undefined);
    const c = fast();
    const got = await collect(c.repository(ref()).fetchBlob(img.layers[0]!));
    expect(got.equals(layer)).toBe(true);
    const gets = proxy.log.filter((r) => r.path === layerPath());
    expect(gets.map((r) => r.headers.range)).toEqual([undefined, 'bytes=200000-']);
    expect(proxy.bytesFor(/\/blobs\//)).toBe(layer.length); // nothing downloaded twice
    c.close();
  });

  it('a connection cut every 100 KB still completes (tries count only without progress)', async () => {
    proxy.onRequest = (r) => (r.path === layerPath() ? { cutAfter: 100_000 } : undefined);
    const c = fast();
    expect((await collect(c.repository(ref()).fetchBlob(img.layers[0]!))).equals(layer)).toBe(true);
    expect(proxy.log.filter((r) => r.path === layerPath()).length).toBe(Math.ceil(layer.length / 100_000));
    c.close();
  });

  it('a server that ignores Range is read from the start, the delivered bytes skipped', async () => {
    let first = true;
    proxy.onRequest = (r) => {
      if (r.path !== layerPath()) return undefined;
      if (first) {
        first = false;
        return { cutAfter: 300_000 };
      }
      return { ignoreRange: true };
    };
    const c = fast();
    expect((await collect(c.repository(ref()).fetchBlob(img.layers[0]!))).equals(layer)).toBe(true);
    c.close();
  });

  it('a registry that drops every connection before any byte fails clearly once the tries are spent', async () => {
    proxy.onRequest = (r) => (r.path === layerPath() ? { cutAfter: 0 } : undefined);
    const c = fast();
    await expect(collect(c.repository(ref()).fetchBlob(img.layers[0]!))).rejects.toMatchObject({
      kind: 'Unavailable',
      message: expect.stringMatching(/gave up after 4 tries without progress, 0 of \d+ bytes/),
    });
    expect(proxy.log.filter((r) => r.path === layerPath()).length).toBe(4);
    c.close();
  });

  it('a corrupt blob is a FailedPrecondition digest mismatch', async () => {
    proxy.onRequest = (r) => (r.path === layerPath() ? { corruptAt: 12345 } : undefined);
    const c = fast();
    await expect(collect(c.repository(ref()).fetchBlob(img.layers[0]!))).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringContaining('digest mismatch'),
    });
    c.close();
  });

  it('a corrupt manifest is refused before it is used', async () => {
    proxy.onRequest = (r) => (r.method === 'GET' && r.path.includes('/manifests/sha256:') ? { corruptAt: 3 } : undefined);
    const c = fast();
    await expect(c.repository(ref()).fetchManifest(img.manifest)).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringContaining('digest mismatch'),
    });
    c.close();
  });

  it('a stalled body is abandoned after the stall timeout and resumed', async () => {
    let first = true;
    proxy.onRequest = (r) => {
      if (r.path !== layerPath() || !first) return undefined;
      first = false;
      return { stallMs: 3000 };
    };
    const c = fast();
    const t0 = Date.now();
    expect((await collect(c.repository(ref()).fetchBlob(img.layers[0]!))).equals(layer)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500);
    c.close();
  });

  it('a registry that never answers fails with DeadlineExceeded after the header timeout, never hangs', async () => {
    proxy.onRequest = (r) => (r.path.includes('/manifests/') ? { hang: true } : undefined);
    const c = new RegistryClient({ retry: { attempts: 2, baseMs: 5 }, timeouts: { headersMs: 300, stallMs: 300 } });
    const t0 = Date.now();
    await expect(c.repository(ref()).resolve()).rejects.toMatchObject({
      kind: 'DeadlineExceeded',
      message: expect.stringContaining('no response within 300 ms'),
    });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(proxy.log.filter((r) => r.path.includes('/manifests/')).length).toBe(2);
    c.close();
  });

  it('5xx and 429 are retried; 4xx is not', async () => {
    let n = 0;
    proxy.onRequest = (r) => (r.path.includes('/manifests/') && n++ < 2 ? { status: n === 1 ? 503 : 429 } : undefined);
    const c = fast();
    expect((await c.repository(ref()).resolve()).digest).toBe(img.manifest.digest);
    expect(proxy.log.filter((r) => r.path.includes('/manifests/')).map((r) => r.status)).toEqual([503, 429, 200]);
    proxy.log.length = 0;
    proxy.onRequest = (r) => (r.path.includes('/manifests/') ? { status: 400 } : undefined);
    await expect(c.repository(ref()).resolve()).rejects.toMatchObject({ kind: 'InvalidArgument' });
    expect(proxy.log.filter((r) => r.path.includes('/manifests/')).length).toBe(1);
    c.close();
  });

  it('a registry that stays 503 is Unavailable once the tries are spent', async () => {
    proxy.onRequest = (r) => (r.path.includes('/manifests/') ? { status: 503 } : undefined);
    const c = fast();
    await expect(c.repository(ref()).resolve()).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringContaining('503') });
    expect(proxy.log.filter((r) => r.path.includes('/manifests/')).length).toBe(4);
    c.close();
  });

  it('an abort is Canceled and not retried', async () => {
    proxy.onRequest = (r) => (r.path === layerPath() ? { stallMs: 5000 } : undefined);
    const c = new RegistryClient({ retry: { attempts: 4, baseMs: 5 } });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(collect(c.repository(ref()).fetchBlob(img.layers[0]!, { signal: ac.signal }))).rejects.toMatchObject({ kind: 'Canceled' });
    expect(proxy.log.filter((r) => r.path === layerPath()).length).toBe(1);
    c.close();
  });
});
