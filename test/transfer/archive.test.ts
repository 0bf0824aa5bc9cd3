/** Export and import, both formats, checked by skopeo, by containerd's ctr and by a round trip. */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { background } from '../../src/core/context';
import { nullLogger } from '../../src/core/logger';
import { chainIds } from '../../src/images/identity';
import { MEDIA_TYPE } from '../../src/images/media-types';
import type { ContentStore } from '../../src/content/types';
import type { TransferService } from '../../src/transfer';
import { ok, startContainerd } from '../helpers/containerd';
import { ctr, run } from '../helpers/ctr';
import { busyboxImage } from '../helpers/images';
import { type BuiltImage, pseudoRandom, writeDockerArchive, writeMultiPlatformImage, writeOciImage } from '../helpers/oci';
import { pushImage } from '../helpers/registry';
import { startTransferFixture, type TransferFixture } from '../helpers/transfer';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('docker-registry', 'skopeo', 'ctr', 'containerd', 'tar')];
const itRoot = itWith(...NEEDS);

describe('export and import', () => {
  let f: TransferFixture;
  let reg: TransferFixture['reg'], work: string, d: TransferFixture['daemon'];
  let transfer: TransferService, content: ContentStore, images: TransferFixture['images'], overlay: TransferFixture['overlay'];
  let bb: BuiltImage;
  let multi: BuiltImage;
  let n = 0;
  let ns = '';
  const ctx = () => background(ns, { log: nullLogger });
  const skopeo = async (args: string[]) => ok(await run('skopeo', args, { timeoutMs: 60_000 }), `skopeo ${args[0]}`);

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    f = await startTransferFixture('transfer-archive');
    ({ reg, work, daemon: d, transfer, content, images, overlay } = f);
    const layout = join(work, 'layout');
    bb = await writeOciImage(layout, busyboxImage('arch/busybox:1'));
    await pushImage(reg, layout, bb.refName, 'arch/busybox:1');
    multi = await writeMultiPlatformImage(layout, 'arch/multi:1', [
      {
        name: '',
        layers: [
          {
            entries: [
              { path: 'arch', type: 'file', content: 'amd64\n' },
              { path: 'data', type: 'file', content: pseudoRandom(200_000, 9) },
            ],
          },
        ],
        architecture: 'amd64',
      },
      { name: '', layers: [{ entries: [{ path: 'arch', type: 'file', content: 'arm64\n' }] }], architecture: 'arm64' },
    ]);
    await pushImage(reg, layout, multi.refName, 'arch/multi:1');
  }, 120_000);
  beforeEach(() => {
    ns = `arch${++n}`;
  });
  afterAll(() => f?.stop());

  const exportTo = async (file: string, req: Parameters<TransferService['export']>[1]) => {
    const out = createWriteStream(file);
    await transfer.export(ctx(), req, out);
  };
  const importFrom = (file: string, req: Parameters<TransferService['import']>[2] = {}) => transfer.import(ctx(), createReadStream(file), req);

  itRoot('an OCI export is read by skopeo (oci-archive:) and copied whole to a registry', async () => {
    await transfer.pull(ctx(), { ref: `${reg.host}/arch/busybox:1`, name: 'docker.io/library/busybox:exp' });
    const file = join(work, `oci-${ns}.tar`);
    await exportTo(file, { names: ['docker.io/library/busybox:exp'] });
    const info = JSON.parse((await skopeo(['inspect', `oci-archive:${file}`])).stdout);
    expect(info.Digest).toBe(bb.manifest.digest);
    expect(info.Layers).toEqual(bb.layers.map((l) => l.digest));
    await skopeo(['copy', '--quiet', '--dest-tls-verify=false', `oci-archive:${file}:exp`, `docker://${reg.host}/arch/copied:1`]);
    expect(JSON.parse((await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/arch/copied:1`])).stdout).Digest).toBe(bb.manifest.digest);
  });

  itRoot('an OCI export of a multi-platform image keeps the index and the host platform; containerd imports it', async () => {
    await transfer.pull(ctx(), { ref: `${reg.host}/arch/multi:1`, name: 'docker.io/library/multi:exp' });
    const file = join(work, `multi-${ns}.tar`);
    await exportTo(file, { names: ['docker.io/library/multi:exp'] });
    const raw = JSON.parse((await skopeo(['inspect', '--raw', `oci-archive:${file}`])).stdout);
    expect(raw.mediaType).toBe(MEDIA_TYPE.ociIndex);
    expect(JSON.parse((await skopeo(['inspect', `oci-archive:${file}`])).stdout).Digest).toBe(multi.manifest.digest);
    expect(raw.manifests.map((m: { digest: string }) => m.digest)).toEqual(multi.platforms!.map((p) => p.manifest.digest));
    const c = await startContainerd();
    try {
      ok(await c.ctr(['images', 'import', file], { timeoutMs: 60_000 }), 'ctr import');
      expect(ok(await c.ctr(['images', 'ls', '-q'])).stdout.split('\n')).toContain('docker.io/library/multi:exp');
    } finally {
      await c.stop();
    }
  });

  itRoot('a docker export is a classic docker save archive (uncompressed layers) skopeo reads', async () => {
    await transfer.pull(ctx(), { ref: `${reg.host}/arch/busybox:1`, name: 'docker.io/library/busybox:save' });
    const file = join(work, `docker-${ns}.tar`);
    await exportTo(file, { names: ['docker.io/library/busybox:save'], format: 'docker' });
    const listing = (await run('tar', ['-tf', file])).stdout.split('\n').filter(Boolean).sort();
    expect(listing).toEqual([`${bb.config.digest.slice(7)}.json`, `${bb.layers[0]!.digest.slice(7)}/layer.tar`, 'manifest.json', 'repositories'].sort());
    const info = JSON.parse((await skopeo(['inspect', `docker-archive:${file}`])).stdout);
    expect(info.Layers).toEqual(bb.layers.map((l) => l.diffId)); // uncompressed: digest = diff ID
    const manifest = JSON.parse((await run('tar', ['-xOf', file, 'manifest.json'])).stdout);
    expect(manifest).toEqual([
      { Config: `${bb.config.digest.slice(7)}.json`, RepoTags: ['busybox:save'], Layers: [`${bb.layers[0]!.digest.slice(7)}/layer.tar`] },
    ]);
  });

  itRoot('imports a docker save archive: named from RepoTags, Docker media types, unpacked, runnable with ctr', async () => {
    const file = join(work, 'save.tar');
    await writeDockerArchive([{ ...bb, name: 'docker.io/library/saved:1' }], file);
    const [img] = await importFrom(file);
    expect(img!.name).toBe('docker.io/library/saved:1');
    expect(img!.target.mediaType).toBe(MEDIA_TYPE.dockerManifest);
    const [chain] = chainIds(bb.layers.map((l) => l.diffId));
    expect((await overlay.stat(ctx(), chain!)).name).toBe(chain);
    expect((await content.info(ctx(), bb.layers[0]!.diffId)).labels['containerd.io/uncompressed']).toBe(bb.layers[0]!.diffId);
    expect(await f.leases.list(ctx())).toEqual([]);
    const r = await ctr(d.dirs.address, ['run', '--rm', 'docker.io/library/saved:1', `saved-${process.pid}`, 'sh', '-c', 'echo imported'], {
      namespace: ns,
      timeoutMs: 60_000,
    });
    expect(r).toMatchObject({ code: 0, stdout: 'imported\n' });
  });

  itRoot('imports an OCI archive written by skopeo copy, and a docker archive written by skopeo', async () => {
    const oci = join(work, `skopeo-oci-${ns}.tar`);
    await skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/arch/busybox:1`, `oci-archive:${oci}:docker.io/library/fromskopeo:1`]);
    const [a] = await importFrom(oci);
    expect(a).toMatchObject({ name: 'docker.io/library/fromskopeo:1', target: { digest: bb.manifest.digest } });
    const dock = join(work, `skopeo-docker-${ns}.tar`);
    await skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/arch/busybox:1`, `docker-archive:${dock}:skopeo/saved:2`]);
    const [b] = await importFrom(dock);
    expect(b!.name).toBe('docker.io/skopeo/saved:2');
    const [chain] = chainIds(bb.layers.map((l) => l.diffId));
    expect(await overlay.stat(ctx(), chain!)).toBeDefined();
  });

  itRoot('a docker export imported into another namespace is the same image (round trip)', async () => {
    await transfer.pull(ctx(), { ref: `${reg.host}/arch/multi:1`, name: 'docker.io/library/rt:1' });
    const file = join(work, `rt-${ns}.tar`);
    await exportTo(file, { names: ['docker.io/library/rt:1'], format: 'docker' });
    ns = `${ns}-back`;
    const [img] = await importFrom(file);
    expect(img!.name).toBe('docker.io/library/rt:1');
    const m = JSON.parse((await readAll(content, ns, img!.target.digest)).toString());
    expect(m.config.digest).toBe(multi.platforms![0]!.config.digest);
    expect(m.layers.map((l: { digest: string }) => l.digest)).toEqual(multi.platforms![0]!.layers.map((l) => l.diffId));
  });

  itRoot('a broken archive is InvalidArgument, one missing a blob NotFound; neither leaves an image', async () => {
    const junk = join(work, 'junk.tar');
    await writeFile(junk, Buffer.alloc(2048, 0x41));
    await expect(importFrom(junk)).rejects.toMatchObject({ kind: 'InvalidArgument' });
    const empty = join(work, 'empty.tar');
    await writeFile(empty, Buffer.alloc(1024));
    await expect(importFrom(empty)).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringContaining('neither index.json') });
    const partial = join(work, 'partial.tar');
    const dir = join(work, 'partial');
    await run('mkdir', ['-p', dir]);
    ok(await run('tar', ['-xf', join(work, 'save.tar'), '-C', dir]));
    await rm(join(dir, `${bb.layers[0]!.diffId.slice(7)}`), { recursive: true });
    ok(await run('tar', ['-cf', partial, '-C', dir, '.']));
    await expect(importFrom(partial)).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringContaining('not in the archive') });
    expect(await images.list(ctx())).toEqual([]);
  });
});

async function readAll(content: ContentStore, ns: string, digest: string): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of content.read(background(ns, { log: nullLogger }), digest)) out.push(c);
  return Buffer.concat(out);
}
