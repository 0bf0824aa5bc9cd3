/** Push with berth's registry client, read back by skopeo: existence checks, mounts, monolithic and chunked uploads. */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, type Repository } from '../../src/remotes';
import type { Descriptor } from '../../src/core/types';
import { run } from '../helpers/ctr';
import { blobPath, type BuiltImage, pseudoRandom, writeMultiPlatformImage, writeOciImage } from '../helpers/oci';
import { startRegistry, type Registry } from '../helpers/registry';
import { startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy';
import { describeWith, requireTool } from '../helpers/requires';

/** The blob's bytes from an offset, read from the layout (what the content store gives in phase 2). */
const opener = (layout: string, d: Descriptor) => (offset: number) => createReadStream(blobPath(layout, d.digest), { start: offset }) as AsyncIterable<Buffer>;

async function pushBuilt(repo: Repository, img: BuiltImage, tag: string, opts: { chunkSize?: number } = {}): Promise<void> {
  for (const d of [img.config, ...img.layers]) {
    if (await repo.blobExists(d)) continue;
    await repo.pushBlob(d, opener(img.layoutDir, d), opts);
  }
  await repo.pushManifest(img.manifest, await readFile(blobPath(img.layoutDir, img.manifest.digest)), tag);
}

async function skopeoInspect(ref: string, raw = false): Promise<any> {
  const r = await run('skopeo', ['inspect', '--tls-verify=false', ...(raw ? ['--raw'] : []), `docker://${ref}`], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`skopeo inspect ${ref}: ${r.stderr}`);
  return raw ? r.stdout : JSON.parse(r.stdout);
}

describeWith(requireTool('docker-registry', 'skopeo'))('registry client: push', () => {
  let reg: Registry;
  let proxy: RegistryProxy;
  let work: string;
  let img: BuiltImage;
  let client: RegistryClient;
  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startRegistryProxy(reg);
    work = await mkdtemp(join(tmpdir(), 'berth-remotes-push-'));
    img = await writeOciImage(join(work, 'layout'), {
      name: 'push/app:1',
      layers: [
        { entries: [{ path: 'data', type: 'file', content: pseudoRandom(400_000, 3) }], gzipLevel: 1 },
        { entries: [{ path: 'etc/x', type: 'file', content: 'x\n' }] },
      ],
      config: { Cmd: ['sh'] },
    });
    client = new RegistryClient({ retry: { attempts: 3, baseMs: 5 } });
  }, 60_000);
  afterEach(() => {
    proxy.log.length = 0;
    proxy.onRequest = undefined;
  });
  afterAll(async () => {
    client?.close();
    await proxy?.stop();
    await reg?.stop();
    await rm(work, { recursive: true, force: true });
  });
  const uploads = () => proxy.log.filter((r) => r.path.includes('/blobs/uploads/') && (r.method === 'PUT' || r.method === 'PATCH'));

  it('pushes blobs then the manifest by tag; skopeo reads back exactly what was pushed', async () => {
    await pushBuilt(client.repository(`${proxy.host}/push/app:1`), img, '1');
    const info = await skopeoInspect(`${reg.host}/push/app:1`);
    expect(info.Digest).toBe(img.manifest.digest);
    expect(info.Layers).toEqual(img.layers.map((l) => l.digest));
    expect(await skopeoInspect(`${reg.host}/push/app:1`, true)).toBe((await readFile(blobPath(img.layoutDir, img.manifest.digest))).toString());
    expect(uploads().filter((r) => r.method === 'PUT')).toHaveLength(3); // config + 2 layers, one PUT each
  });

  it('a second push finds every blob (HEAD) and uploads nothing, over one kept-alive connection', async () => {
    const before = proxy.connections;
    await pushBuilt(client.repository(`${proxy.host}/push/app:again`), img, 'again');
    expect(uploads()).toEqual([]);
    expect(proxy.log.filter((r) => r.method === 'HEAD' && r.path.includes('/blobs/'))).toHaveLength(3);
    expect(proxy.connections - before).toBeLessThanOrEqual(1); // HEAD responses give their socket back
  });

  it('mounts blobs across repositories (201) without sending their bytes', async () => {
    const repo = client.repository(`${proxy.host}/other/app:1`);
    for (const d of [img.config, ...img.layers]) expect(await repo.mountBlob(d, 'push/app')).toEqual({ mounted: true });
    await repo.pushManifest(img.manifest, await readFile(blobPath(img.layoutDir, img.manifest.digest)), '1');
    expect(uploads()).toEqual([]);
    expect((await skopeoInspect(`${reg.host}/other/app:1`)).Digest).toBe(img.manifest.digest);
  });

  it('a refused mount (202) gives an upload session the blob goes to', async () => {
    const fresh = await writeOciImage(join(work, 'layout2'), {
      name: 'm/n:1',
      layers: [{ entries: [{ path: 'only-here', type: 'file', content: 'fresh\n' }] }],
    });
    const repo = client.repository(`${proxy.host}/mounted/app:1`);
    const layer = fresh.layers[0]!;
    const r = await repo.mountBlob(layer, 'push/app');
    expect(r.mounted).toBe(false);
    if (r.mounted) return;
    await repo.pushBlob(layer, opener(fresh.layoutDir, layer), { location: r.location });
    expect(await repo.blobExists(layer)).toBe(true);
    expect(proxy.log.filter((x) => x.method === 'POST')).toHaveLength(1); // the mount's session was used
  });

  it('chunked upload: PATCH windows with Content-Range, then PUT ?digest=; relative Locations followed', async () => {
    const big = img.layers[0]!;
    const repo = client.repository(`${proxy.host}/chunked/app:1`);
    const progress: number[] = [];
    await repo.pushBlob(big, opener(img.layoutDir, big), { chunkSize: 64 * 1024, onProgress: (n) => progress.push(n) });
    const patches = proxy.log.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(Math.ceil(big.size / (64 * 1024)));
    expect(patches[0]!.headers['content-range']).toBe(`0-${64 * 1024 - 1}`);
    expect(patches[1]!.headers['content-range']).toBe(`${64 * 1024}-${2 * 64 * 1024 - 1}`);
    expect(progress[progress.length - 1]).toBe(big.size);
    const put = proxy.log.filter((r) => r.method === 'PUT');
    expect(put).toHaveLength(1);
    expect(put[0]!.path).toContain(`digest=${encodeURIComponent(big.digest)}`);
    await repo.pushBlob(img.config, opener(img.layoutDir, img.config), { chunkSize: 64 * 1024 });
    await repo.pushBlob(img.layers[1]!, opener(img.layoutDir, img.layers[1]!), { chunkSize: 64 * 1024 });
    await repo.pushManifest(img.manifest, await readFile(blobPath(img.layoutDir, img.manifest.digest)), '1');
    expect((await skopeoInspect(`${reg.host}/chunked/app:1`)).Layers).toEqual(img.layers.map((l) => l.digest));
  });

  it('a chunk whose connection drops is resent from where the registry says the upload stands', async () => {
    const big = img.layers[0]!;
    let cut = false;
    proxy.onRequest = (r) => {
      if (r.method === 'PATCH' && r.headers['content-range']?.startsWith(`${3 * 64 * 1024}-`) && !cut) {
        cut = true;
        return { status: 503 };
      }
      return undefined;
    };
    const repo = client.repository(`${proxy.host}/chunked2/app:1`);
    await repo.pushBlob(big, opener(img.layoutDir, big), { chunkSize: 64 * 1024 });
    expect(cut).toBe(true);
    expect(proxy.log.some((r) => r.method === 'GET' && r.path.includes('/blobs/uploads/'))).toBe(true);
    expect(await repo.blobExists(big)).toBe(true);
  });

  it('a digest the upload does not match is refused by the registry (InvalidArgument), nothing stored', async () => {
    const repo = client.repository(`${proxy.host}/bad/app:1`);
    const lie = { ...img.layers[1]!, digest: img.layers[0]!.digest, size: img.layers[1]!.size };
    await expect(repo.pushBlob(lie, opener(img.layoutDir, img.layers[1]!))).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringContaining('DIGEST_INVALID'),
    });
  });

  it('a multi-platform index: children first, then the index by tag', async () => {
    const multi = await writeMultiPlatformImage(join(work, 'layout3'), 'push/multi:1', [
      { name: '', layers: [{ entries: [{ path: 'a', type: 'file', content: 'amd64\n' }] }], architecture: 'amd64' },
      { name: '', layers: [{ entries: [{ path: 'a', type: 'file', content: 'arm64\n' }] }], architecture: 'arm64' },
    ]);
    const repo = client.repository(`${proxy.host}/push/multi:1`);
    for (const p of multi.platforms!) {
      for (const d of [p.config, ...p.layers]) if (!(await repo.blobExists(d))) await repo.pushBlob(d, opener(multi.layoutDir, d));
      await repo.pushManifest(p.manifest, await readFile(blobPath(multi.layoutDir, p.manifest.digest)), p.manifest.digest);
    }
    await repo.pushManifest(multi.manifest, await readFile(blobPath(multi.layoutDir, multi.manifest.digest)), '1');
    const raw = JSON.parse(await skopeoInspect(`${reg.host}/push/multi:1`, true));
    expect(raw.manifests.map((m: Descriptor) => m.digest)).toEqual(multi.platforms!.map((p) => p.manifest.digest));
  });
});
