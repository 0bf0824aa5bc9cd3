/** Push from berthd's stores (in process) to docker-registry; read back by skopeo and by a private containerd. */
import { join } from 'node:path';
import { background } from '../../src/core/context';
import { nullLogger } from '../../src/core/logger';
import { mountCandidate } from '../../src/transfer/push';
import { parseReference } from '../../src/remotes';
import { startContainerd, ok, type Containerd } from '../helpers/containerd';
import { ctr, run } from '../helpers/ctr';
import { busyboxImage } from '../helpers/images';
import { type BuiltImage, pseudoRandom, writeOciArchive, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, writeHtpasswd } from '../helpers/registry';
import { startTransferFixture, type TransferFixture } from '../helpers/transfer';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('docker-registry', 'skopeo', 'ctr', 'containerd', 'htpasswd')];
const itRoot = itWith(...NEEDS);

describe('mount candidates (containerd selectRepositoryMountCandidate)', () => {
  it('picks the repository sharing the most leading components, never the target', () => {
    const key = 'containerd.io/distribution.source.reg.lan';
    const t = parseReference('reg.lan:5000/team/app/web:1');
    expect(mountCandidate({ [key]: 'other/x,team/app/api,team/db' }, t)).toBe('team/app/api');
    expect(mountCandidate({ [key]: 'team/app/web' }, t)).toBeUndefined();
    expect(mountCandidate({ 'containerd.io/distribution.source.elsewhere': 'team/app/api' }, t)).toBeUndefined();
  });
});

describe('push from berthd', () => {
  let f: TransferFixture;
  let reg: TransferFixture['reg'], proxy: TransferFixture['proxy'], work: string, d: TransferFixture['daemon'];
  let transfer: TransferFixture['transfer'], content: TransferFixture['content'];
  let local: BuiltImage;
  const ns = 'push';
  const ctx = () => background(ns, { log: nullLogger });

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    f = await startTransferFixture('transfer-push');
    ({ reg, proxy, work, daemon: d, transfer, content } = f);
    const layout = join(work, 'layout');
    const bb = await writeOciImage(layout, busyboxImage('src/busybox:1'));
    await pushImage(reg, layout, bb.refName, 'src/busybox:1');
    await transfer.pull(ctx(), { ref: `${reg.host}/src/busybox:1`, name: 'pulled/busybox:1' });
    local = await importLocal(5);
  }, 120_000);
  /** An image that never saw a registry (no distribution-source labels): imported with the real ctr. */
  const importLocal = async (seed: number): Promise<BuiltImage> => {
    const img = await writeOciImage(join(work, `local${seed}`), {
      name: `docker.io/library/local:${seed}`,
      layers: [
        { entries: [{ path: 'data', type: 'file', content: pseudoRandom(300_000, seed) }], gzipLevel: 1 },
        { entries: [{ path: 'etc/x', type: 'file', content: `x${seed}\n` }] },
      ],
    });
    await writeOciArchive(img.layoutDir, join(work, `local${seed}.tar`));
    ok(await ctr(d.dirs.address, ['images', 'import', '--no-unpack', join(work, `local${seed}.tar`)], { namespace: ns, timeoutMs: 60_000 }), 'ctr import');
    return img;
  };
  beforeEach(() => {
    proxy.log.length = 0;
    proxy.onRequest = undefined;
  });
  afterAll(() => f?.stop());
  const uploads = () => proxy.log.filter((r) => (r.method === 'PUT' || r.method === 'PATCH') && r.path.includes('/blobs/uploads/'));

  itRoot('a pulled image is pushed to another repository by mounting its blobs; skopeo reads it back', async () => {
    const r = await transfer.push(ctx(), { name: 'pulled/busybox:1', ref: `${proxy.host}/dst/busybox:1` });
    expect(r).toMatchObject({ mounted: 2, uploaded: 0, skipped: 0 });
    expect(uploads()).toEqual([]);
    const info = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/dst/busybox:1`])).stdout);
    expect(info.Digest).toBe(r.desc.digest);
    const layer = (await content.walk(ctx(), [`labels."containerd.io/uncompressed"`])[Symbol.asyncIterator]().next()).value;
    expect(layer.labels['containerd.io/distribution.source.127.0.0.1']).toBe('dst/busybox,src/busybox');
  });

  itRoot('a local image is uploaded (monolithic), then a second push skips every blob', async () => {
    const r = await transfer.push(ctx(), { name: local.name, ref: `${proxy.host}/local/app:1` });
    expect(r).toMatchObject({ uploaded: 3, mounted: 0, skipped: 0 });
    expect(uploads().map((u) => u.method)).toEqual(['PUT', 'PUT', 'PUT']);
    proxy.log.length = 0;
    const again = await transfer.push(ctx(), { name: local.name, ref: `${proxy.host}/local/app:2` });
    expect(again).toMatchObject({ uploaded: 0, mounted: 0, skipped: 3 });
    expect((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/local/app:2`])).stdout).toContain(local.manifest.digest);
  });

  itRoot('chunked uploads, then a private containerd pulls the pushed image with ctr', async () => {
    const fresh = await importLocal(6);
    const r = await transfer.push(ctx(), { name: fresh.name, ref: `${proxy.host}/chunked/app:1`, chunkSize: 64 * 1024, onProgress: () => undefined });
    expect(r.uploaded).toBe(3);
    expect(uploads().filter((u) => u.method === 'PATCH').length).toBeGreaterThan(3);
    let c: Containerd | undefined;
    try {
      c = await startContainerd();
      ok(await c.ctr(['images', 'pull', '--plain-http', `${reg.host}/chunked/app:1`], { timeoutMs: 60_000 }), 'ctr pull');
      const ls = ok(await c.ctr(['images', 'ls']));
      expect(ls.stdout).toContain(fresh.manifest.digest);
    } finally {
      await c?.stop();
    }
  });

  itRoot('pushing an image that does not exist is NotFound; a refused credential is PermissionDenied', async () => {
    await expect(transfer.push(ctx(), { name: 'no/such:1', ref: `${proxy.host}/x/y:1` })).rejects.toMatchObject({ kind: 'NotFound' });
    const htpasswd = join(work, 'htpasswd');
    await writeHtpasswd(htpasswd, { alice: 'right' });
    const secured = await startRegistry({ auth: { htpasswd } });
    try {
      await expect(
        transfer.push(ctx(), { name: local.name, ref: `${secured.host}/x/y:1`, credentials: async () => ({ username: 'alice', password: 'wrong' }) }),
      ).rejects.toMatchObject({
        kind: 'PermissionDenied',
        message: expect.stringContaining('rejected'),
      });
      const r = await transfer.push(ctx(), {
        name: local.name,
        ref: `${secured.host}/x/y:1`,
        credentials: async () => ({ username: 'alice', password: 'right' }),
      });
      expect(r.uploaded).toBe(3);
    } finally {
      await secured.stop();
    }
  });
});
