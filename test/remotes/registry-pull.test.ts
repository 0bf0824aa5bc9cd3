/** berth's registry client against Debian's docker-registry on loopback (no auth): resolve and fetch. */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectBytes as collect } from '../helpers/transfer';
import { RegistryClient } from '../../src/remotes';
import { parseConfig, parseIndex, parseManifest } from '../../src/images/manifest';
import { MEDIA_TYPE } from '../../src/images/media-types';
import { hostPlatform, onlyPlatform, parsePlatform, selectManifests } from '../../src/images/platforms';
import { run } from '../helpers/ctr';
import { blobPath, type BuiltImage, pseudoRandom, writeMultiPlatformImage, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, type Registry } from '../helpers/registry';
import { describeWith, requireTool } from '../helpers/requires';

describeWith(requireTool('docker-registry', 'skopeo'))('registry client: pull side, no auth', () => {
  let reg: Registry;
  let work: string;
  let img: BuiltImage;
  let multi: BuiltImage;
  let client: RegistryClient;
  beforeAll(async () => {
    reg = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'berth-remotes-pull-'));
    const layout = join(work, 'layout');
    img = await writeOciImage(layout, {
      name: 'test/app:1',
      layers: [{ entries: [{ path: 'etc/random', type: 'file', content: pseudoRandom(300_000) }] }, { entries: [{ path: 'bin', type: 'dir' }] }],
    });
    await pushImage(reg, layout, img.refName, 'test/app:1');
    multi = await writeMultiPlatformImage(layout, 'test/multi:1', [
      { name: '', layers: [{ entries: [{ path: 'arch', type: 'file', content: 'amd64\n' }] }], architecture: 'amd64' },
      { name: '', layers: [{ entries: [{ path: 'arch', type: 'file', content: 'arm64\n' }] }], architecture: 'arm64', variant: 'v8' },
      { name: '', layers: [{ entries: [{ path: 'arch', type: 'file', content: 'armv7\n' }] }], architecture: 'arm', variant: 'v7' },
    ]);
    await pushImage(reg, layout, multi.refName, 'test/multi:1');
    client = new RegistryClient();
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await reg?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('resolves a tag to the manifest descriptor, fetches and verifies manifest, config and layers', async () => {
    const repo = client.repository(`${reg.host}/test/app:1`);
    const desc = await repo.resolve();
    expect(desc).toEqual({ mediaType: MEDIA_TYPE.ociManifest, digest: img.manifest.digest, size: img.manifest.size });
    const m = parseManifest('m', await repo.fetchManifest(desc), desc.mediaType);
    expect(m.config.digest).toBe(img.config.digest);
    expect(m.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    const cfg = await collect(repo.fetchBlob(m.config));
    expect(parseConfig('c', cfg).diffIds).toEqual(img.layers.map((l) => l.diffId));
    for (const l of m.layers) expect((await collect(repo.fetchBlob(l))).equals(await readFile(blobPath(img.layoutDir, l.digest)))).toBe(true);
  });

  it('resolves by digest and by name:tag@digest', async () => {
    const d = img.manifest.digest;
    expect((await client.repository(`${reg.host}/test/app@${d}`).resolve()).digest).toBe(d);
    expect(await client.repository(`${reg.host}/test/app:ignored@${d}`).resolve()).toEqual({
      mediaType: MEDIA_TYPE.ociManifest,
      digest: d,
      size: img.manifest.size,
    });
  });

  it('fetches a blob from an offset (Range) and gives exactly the tail', async () => {
    const l = img.layers[0]!;
    const whole = await readFile(blobPath(img.layoutDir, l.digest));
    const tail = await collect(client.repository(`${reg.host}/test/app:1`).fetchBlob(l, { offset: 1000 }));
    expect(tail.equals(whole.subarray(1000))).toBe(true);
  });

  it('a multi-platform index: the host platform by default, an explicit one, none matching', async () => {
    const repo = client.repository(`${reg.host}/test/multi:1`);
    const desc = await repo.resolve();
    expect(desc.mediaType).toBe(MEDIA_TYPE.ociIndex);
    const idx = parseIndex('i', await repo.fetchManifest(desc));
    expect(idx.manifests).toHaveLength(3);
    const pick = (p: string) => selectManifests(idx.manifests, onlyPlatform(parsePlatform(p)), 1).map((m) => m.platform);
    expect(selectManifests(idx.manifests, onlyPlatform(hostPlatform()), 1)[0]?.platform?.architecture).toBe(hostPlatform().architecture);
    expect(pick('linux/arm64')).toEqual([{ os: 'linux', architecture: 'arm64', variant: 'v8' }]);
    expect(pick('linux/arm/v7')).toEqual([{ os: 'linux', architecture: 'arm', variant: 'v7' }]);
    expect(pick('linux/arm/v6')).toEqual([]); // v6 hardware cannot run v7
    expect(pick('linux/s390x')).toEqual([]);
  });

  it('a Docker schema 2 image (manifest list and docker media types) resolves and fetches', async () => {
    const r = await run(
      'skopeo',
      [
        'copy',
        '--quiet',
        '--all',
        '--format',
        'v2s2',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${reg.host}/test/multi:1`,
        `docker://${reg.host}/test/docker:1`,
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.stderr).toBe('');
    const repo = client.repository(`${reg.host}/test/docker:1`);
    const desc = await repo.resolve();
    expect(desc.mediaType).toBe(MEDIA_TYPE.dockerManifestList);
    const idx = parseIndex('i', await repo.fetchManifest(desc), desc.mediaType);
    const [m0] = selectManifests(idx.manifests, onlyPlatform(hostPlatform()), 1);
    expect(m0!.mediaType).toBe(MEDIA_TYPE.dockerManifest);
    const m = parseManifest('m', await repo.fetchManifest(m0!), m0!.mediaType);
    expect(m.config.mediaType).toBe(MEDIA_TYPE.dockerConfig);
    expect(m.layers[0]!.mediaType).toBe(MEDIA_TYPE.dockerLayerGzip);
    const layer = await collect(repo.fetchBlob(m.layers[0]!));
    expect(layer.length).toBe(m.layers[0]!.size);
  });

  it('an unknown repository and an unknown tag are NotFound with the registry error code', async () => {
    await expect(client.repository(`${reg.host}/no/such-repo:1`).resolve()).rejects.toMatchObject({
      kind: 'NotFound',
      message: expect.stringMatching(/NAME_UNKNOWN|MANIFEST_UNKNOWN/),
    });
    await expect(client.repository(`${reg.host}/test/app:nope`).resolve()).rejects.toMatchObject({
      kind: 'NotFound',
      message: expect.stringContaining('MANIFEST_UNKNOWN'),
    });
    const missing = { mediaType: MEDIA_TYPE.ociLayerGzip, digest: `sha256:${'0'.repeat(64)}`, size: 10 };
    await expect((async () => collect(client.repository(`${reg.host}/test/app:1`).fetchBlob(missing)))()).rejects.toMatchObject({
      kind: 'NotFound',
      message: expect.stringContaining('BLOB_UNKNOWN'),
    });
  });

  it('a host that is not listening is Unavailable, after the retries', async () => {
    const c = new RegistryClient({ retry: { attempts: 2, baseMs: 10 } });
    await expect(c.repository('127.0.0.1:9/x:1').resolve()).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringContaining('ECONNREFUSED') });
    c.close();
  });
});
