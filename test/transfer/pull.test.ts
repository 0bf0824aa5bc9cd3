/**
 * Pull into a real berthd's stores (in process) from docker-registry on loopback, through a
 * proxy that counts and interrupts. What ctr and GC see afterwards is checked against what
 * containerd writes: chain-ID snapshots, gc labels, `containerd.io/uncompressed`, no lease left.
 */
import { join } from 'node:path';
import { background } from '../../src/core/context';
import { nullLogger } from '../../src/core/logger';
import { chainIds } from '../../src/images/identity';
import type { Progress } from '../../src/transfer';
import { GC } from '../../src/daemon/slices/gc';
import { busyboxImage } from '../helpers/images';
import { type BuiltImage, pseudoRandom, writeMultiPlatformImage, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, writeHtpasswd } from '../helpers/registry';
import { ctr } from '../helpers/ctr';
import { startTransferFixture, type TransferFixture } from '../helpers/transfer';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('docker-registry', 'skopeo', 'ctr', 'htpasswd')];
const itRoot = itWith(...NEEDS);

describe('pull into berthd', () => {
  let f: TransferFixture;
  let reg: TransferFixture['reg'], proxy: TransferFixture['proxy'], work: string, d: TransferFixture['daemon'];
  let transfer: TransferFixture['transfer'], content: TransferFixture['content'], images: TransferFixture['images'];
  let leases: TransferFixture['leases'], overlay: TransferFixture['overlay'];
  let busybox: BuiltImage;
  let multi: BuiltImage;
  let layout: string;
  let seed = 100;
  /**
   * A new three-layer image (3 MiB in the middle one) under `pull/big:<n>`: content is shared
   * across namespaces on disk, so a test that needs downloads needs bytes no test pulled before.
   */
  const freshBig = async (): Promise<BuiltImage & { ref: string }> => {
    const n = ++seed;
    const img = await writeOciImage(layout, {
      name: `pull/big:${n}`,
      layers: [
        { entries: [{ path: 'small', type: 'file', content: `small layer ${n}\n` }] },
        { entries: [{ path: 'big', type: 'file', content: pseudoRandom(3 << 20, n) }], gzipLevel: 1 },
        { entries: [{ path: 'tiny', type: 'file', content: `tiny ${n}\n` }] },
      ],
    });
    await pushImage(reg, layout, img.refName, `pull/big:${n}`);
    return { ...img, ref: `${proxy.host}/pull/big:${n}` };
  };
  let nsSeq = 0;
  let ns = '';
  const ctx = () => background(ns, { log: nullLogger });
  const blobGets = () => proxy.log.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    f = await startTransferFixture('transfer-pull');
    ({ reg, proxy, work, daemon: d, transfer, content, images, leases, overlay } = f);
    layout = join(work, 'layout');
    busybox = await writeOciImage(layout, busyboxImage('pull/busybox:1'));
    await pushImage(reg, layout, busybox.refName, 'pull/busybox:1');
    multi = await writeMultiPlatformImage(layout, 'pull/multi:1', [
      { name: '', layers: [{ entries: [{ path: 'arch', type: 'file', content: 'amd64\n' }] }], architecture: 'amd64' },
      { name: '', layers: [{ entries: [{ path: 'arch', type: 'file', content: 'arm64\n' }] }], architecture: 'arm64', variant: 'v8' },
    ]);
    await pushImage(reg, layout, multi.refName, 'pull/multi:1');
  }, 120_000);
  beforeEach(() => {
    ns = `pull${++nsSeq}`;
    proxy.log.length = 0;
    proxy.onRequest = undefined;
  });
  afterAll(() => f?.stop());

  itRoot('pulls by tag: image record, gc labels, chain-ID snapshots, uncompressed labels, no lease left', async () => {
    const events: Progress[] = [];
    const r = await transfer.pull(ctx(), { ref: `${proxy.host}/pull/busybox:1`, onProgress: (p) => events.push(p) });
    expect(r.image).toMatchObject({
      name: `${proxy.host}/pull/busybox:1`,
      target: { digest: busybox.manifest.digest, mediaType: busybox.manifest.mediaType, size: busybox.manifest.size },
    });
    expect(r.fetched).toBe(1);
    const [chain] = chainIds(busybox.layers.map((l) => l.diffId));
    expect(r.unpacked).toMatchObject({ snapshotter: 'overlayfs', chainId: chain });
    expect((await images.get(ctx(), r.image.name)).target.digest).toBe(busybox.manifest.digest);
    const src = `containerd.io/distribution.source.127.0.0.1`;
    expect((await content.info(ctx(), busybox.manifest.digest)).labels).toEqual({
      'containerd.io/gc.ref.content.config': busybox.config.digest,
      'containerd.io/gc.ref.content.l.0': busybox.layers[0]!.digest,
      [src]: 'pull/busybox',
    });
    expect((await content.info(ctx(), busybox.config.digest)).labels).toEqual({ 'containerd.io/gc.ref.snapshot.overlayfs': chain, [src]: 'pull/busybox' });
    expect((await content.info(ctx(), busybox.layers[0]!.digest)).labels).toEqual({
      'containerd.io/uncompressed': busybox.layers[0]!.diffId,
      [src]: 'pull/busybox',
    });
    expect((await overlay.stat(ctx(), chain!)).labels).toEqual({ 'containerd.io/snapshot.ref': chain });
    expect(await leases.list(ctx())).toEqual([]);
    expect(await content.listStatuses(ctx())).toEqual([]);
    const kinds = events.map((e) => e.event);
    for (const k of ['resolving', 'resolved', 'waiting', 'downloading', 'complete', 'unpacking', 'unpacked', 'saved']) expect(kinds).toContain(k);
    expect(kinds.indexOf('resolving')).toBe(0);
    expect(kinds[kinds.length - 1]).toBe('saved');
  });

  itRoot('a second pull downloads nothing and unpacks nothing', async () => {
    await transfer.pull(ctx(), { ref: `${proxy.host}/pull/busybox:1` });
    proxy.log.length = 0;
    const events: Progress[] = [];
    const r = await transfer.pull(ctx(), { ref: `${proxy.host}/pull/busybox:1`, onProgress: (p) => events.push(p) });
    expect(r.fetched).toBe(0);
    expect(blobGets()).toEqual([]);
    expect(events.map((e) => e.event)).not.toContain('unpacking');
  });

  itRoot('pulls by digest and by name:tag@digest, named as asked; tags another name', async () => {
    const byDigest = await transfer.pull(ctx(), { ref: `${proxy.host}/pull/busybox@${busybox.manifest.digest}` });
    expect(byDigest.image.name).toBe(`${proxy.host}/pull/busybox@${busybox.manifest.digest}`);
    const named = await transfer.pull(ctx(), { ref: `${proxy.host}/pull/busybox:x@${busybox.manifest.digest}`, name: 'my/busybox:copy' });
    expect(named.image).toMatchObject({ name: 'my/busybox:copy', target: { digest: busybox.manifest.digest } });
    const tagged = await transfer.tag(ctx(), 'my/busybox:copy', 'my/busybox:tagged');
    expect(tagged.target).toEqual(named.image.target);
    await expect(transfer.tag(ctx(), 'no/such:1', 'x:1')).rejects.toMatchObject({ kind: 'NotFound' });
  });

  itRoot('a multi-platform index: the host platform by default; --platform picks another and unpacks it', async () => {
    const host = await transfer.pull(ctx(), { ref: `${proxy.host}/pull/multi:1` });
    expect(host.image.target.digest).toBe(multi.manifest.digest);
    expect(host.unpacked?.chainId).toBe(multi.platforms![0]!.layers[0]!.diffId);
    await expect(content.info(ctx(), multi.platforms![1]!.manifest.digest)).rejects.toMatchObject({ kind: 'NotFound' }); // arm64 not fetched
    expect((await content.info(ctx(), multi.manifest.digest)).labels['containerd.io/gc.ref.content.m.0']).toBe(multi.platforms![0]!.manifest.digest);
    const arm = await transfer.pull(ctx(), { ref: `${proxy.host}/pull/multi:1`, name: 'multi:arm64', platforms: [{ os: 'linux', architecture: 'arm64' }] });
    expect(arm.unpacked).toMatchObject({ chainId: multi.platforms![1]!.layers[0]!.diffId, platform: { architecture: 'arm64' } });
  });

  itRoot('a platform the index does not have is NotFound "no match for platform in manifest", and leaves nothing', async () => {
    await expect(transfer.pull(ctx(), { ref: `${proxy.host}/pull/multi:1`, platforms: [{ os: 'linux', architecture: 's390x' }] })).rejects.toMatchObject({
      kind: 'NotFound',
      message: expect.stringContaining('no match for platform in manifest'),
    });
    expect(await images.list(ctx())).toEqual([]);
    expect(await leases.list(ctx())).toEqual([]);
  });

  itRoot('a wrong credential is PermissionDenied and leaves no image or lease; the right one pulls', async () => {
    const htpasswd = join(work, 'htpasswd');
    await writeHtpasswd(htpasswd, { carol: 'right' });
    const secured = await startRegistry({ auth: { htpasswd } });
    try {
      await transfer.push(ctx(), {
        name: (await transfer.pull(ctx(), { ref: `${proxy.host}/pull/busybox:1`, unpack: false })).image.name,
        ref: `${secured.host}/sec/busybox:1`,
        credentials: async () => ({ username: 'carol', password: 'right' }),
      });
      ns = `${ns}-b`;
      await expect(
        transfer.pull(ctx(), { ref: `${secured.host}/sec/busybox:1`, credentials: async () => ({ username: 'carol', password: 'wrong' }) }),
      ).rejects.toMatchObject({
        kind: 'PermissionDenied',
        message: expect.stringContaining('rejected'),
      });
      expect(await images.list(ctx())).toEqual([]);
      expect(await leases.list(ctx())).toEqual([]);
      const ok = await transfer.pull(ctx(), { ref: `${secured.host}/sec/busybox:1`, credentials: async () => ({ username: 'carol', password: 'right' }) });
      expect(ok.image.target.digest).toBe(busybox.manifest.digest);
    } finally {
      await secured.stop();
    }
  });

  itRoot('an unknown repository is NotFound and leaves no image', async () => {
    await expect(transfer.pull(ctx(), { ref: `${proxy.host}/no/such:1` })).rejects.toMatchObject({ kind: 'NotFound' });
    expect(await images.list(ctx())).toEqual([]);
  });

  itRoot('downloads concurrently, at most the limit at once', async () => {
    const big = await freshBig();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    proxy.onRequest = (r) =>
      r.method === 'GET' && r.path.includes('/blobs/') && !r.path.includes(big.config.digest) ? { holdAfter: 0, until: gate } : undefined;
    const pulling = transfer.pull(ctx(), { ref: big.ref, concurrency: 2, unpack: false });
    for (let i = 0; i < 100 && blobGets().filter((g) => !g.path.includes(big.config.digest)).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(blobGets().filter((g) => !g.path.includes(big.config.digest))).toHaveLength(2); // the third waits for a slot
    release();
    await pulling;
    expect(blobGets().filter((g) => !g.path.includes(big.config.digest))).toHaveLength(3);
  });

  itRoot('an aborted pull leaves its ingest; the retry downloads only what is missing, resuming with Range', async () => {
    const big = await freshBig();
    const bigLayer = big.layers[1]!;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    proxy.onRequest = (r) => (r.path.endsWith(bigLayer.digest) && !r.headers.range ? { holdAfter: 1 << 20, until: gate } : undefined);
    const ac = new AbortController();
    const first = transfer.pull({ ...ctx(), signal: ac.signal }, { ref: big.ref });
    // wait until the big layer's first MiB is in its ingest and the small layers are committed
    const committed = async () =>
      (
        await Promise.all(
          [big.layers[0]!, big.layers[2]!].map((l) =>
            content.info(ctx(), l.digest).then(
              () => 1,
              () => 0,
            ),
          ),
        )
      ).every(Boolean);
    let offset = 0;
    for (let i = 0; i < 400 && (offset < 1 << 20 || !(await committed())); i++) {
      await new Promise((r) => setTimeout(r, 25));
      offset = (await content.listStatuses(ctx())).find((s) => s.ref === `layer-${bigLayer.digest}`)?.offset ?? 0;
    }
    expect(offset).toBe(1 << 20);
    expect(await committed()).toBe(true);
    ac.abort();
    await expect(first).rejects.toMatchObject({ kind: 'Canceled' });
    release();
    expect(await images.list(ctx())).toEqual([]);
    expect(await leases.list(ctx())).toHaveLength(1); // kept for the retry
    proxy.log.length = 0;
    proxy.onRequest = undefined;

    const r = await transfer.pull(ctx(), { ref: big.ref });
    expect(r.image.target.digest).toBe(big.manifest.digest);
    expect(r.fetched).toBe(1);
    const gets = blobGets();
    expect(gets.map((g) => [g.path.split('/').pop(), g.headers.range])).toEqual([[bigLayer.digest, `bytes=${1 << 20}-`]]);
    expect(proxy.bytesFor(/\/blobs\//)).toBe(bigLayer.size - (1 << 20));
    expect(await leases.list(ctx())).toEqual([]);
  });

  itRoot('two pulls sharing a layer download it once: the second waits for the first', async () => {
    const big = await freshBig();
    const shared = big.layers[1]!;
    const other = await writeOciImage(layout, {
      name: 'pull/other:1',
      layers: [
        { entries: [{ path: 'big', type: 'file', content: pseudoRandom(3 << 20, seed) }], gzipLevel: 1 },
        { entries: [{ path: 'own', type: 'file', content: `own ${seed}\n` }] },
      ],
    });
    expect(other.layers[0]!.digest).toBe(shared.digest);
    await pushImage(reg, layout, other.refName, 'pull/other:1');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    proxy.onRequest = (r) => (r.path.endsWith(shared.digest) ? { holdAfter: 1 << 20, until: gate } : undefined);
    const a = transfer.pull(ctx(), { ref: big.ref });
    for (let i = 0; i < 200 && !blobGets().some((g) => g.path.endsWith(shared.digest)); i++) await new Promise((r) => setTimeout(r, 25));
    const waits: string[] = [];
    const b = transfer.pull(ctx(), { ref: `${proxy.host}/pull/other:1`, onProgress: (p) => p.event === 'waiting' && p.progress === 0 && waits.push(p.name) });
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.image.target.digest).toBe(big.manifest.digest);
    expect(rb.image.target.digest).toBe(other.manifest.digest);
    expect(blobGets().filter((g) => g.path.endsWith(shared.digest))).toHaveLength(1);
    expect(waits.filter((w) => w === shared.digest).length).toBeGreaterThan(1); // queued, then waited on the lock
  });

  itRoot('two pulls of the same image at once each work under their own lease, and both complete', async () => {
    const big = await freshBig();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    proxy.onRequest = (r) => (r.path.endsWith(big.layers[1]!.digest) ? { holdAfter: 1000, until: gate } : undefined);
    const a = transfer.pull(ctx(), { ref: big.ref });
    for (let i = 0; i < 200 && !blobGets().some((g) => g.path.endsWith(big.layers[1]!.digest)); i++) await new Promise((r) => setTimeout(r, 25));
    const b = transfer.pull(ctx(), { ref: big.ref, unpack: false });
    for (let i = 0; i < 200 && (await leases.list(ctx())).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await leases.list(ctx())).toHaveLength(2);
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.image.target.digest).toBe(rb.image.target.digest);
    expect(await leases.list(ctx())).toEqual([]);
  });

  itRoot('a corrupt blob fails FailedPrecondition, leaves no image and no ingest; a clean retry works', async () => {
    const big = await freshBig();
    proxy.onRequest = (r) => (r.path.endsWith(big.layers[1]!.digest) ? { corruptAt: 1000 } : undefined);
    await expect(transfer.pull(ctx(), { ref: big.ref })).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringContaining('digest') });
    expect(await images.list(ctx())).toEqual([]);
    expect((await content.listStatuses(ctx())).map((s) => s.ref)).not.toContain(`layer-${big.layers[1]!.digest}`);
    proxy.onRequest = undefined;
    expect((await transfer.pull(ctx(), { ref: big.ref })).image.target.digest).toBe(big.manifest.digest);
  });

  itRoot('a connection dropped mid-blob is resumed within the pull', async () => {
    const big = await freshBig();
    proxy.onRequest = (r) => (r.path.endsWith(big.layers[1]!.digest) && !r.headers.range ? { cutAfter: 500_000 } : undefined);
    const r = await transfer.pull(ctx(), { ref: big.ref });
    expect(r.image.target.digest).toBe(big.manifest.digest);
    expect(
      blobGets()
        .filter((g) => g.path.endsWith(big.layers[1]!.digest))
        .map((g) => g.headers.range),
    ).toEqual([undefined, 'bytes=500000-']);
  });

  itRoot('GC while a pull waits mid-blob takes nothing the pull committed', async () => {
    const big = await freshBig();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    proxy.onRequest = (r) => (r.path.endsWith(big.layers[1]!.digest) ? { holdAfter: 1000, until: gate } : undefined);
    const pulling = transfer.pull(ctx(), { ref: big.ref });
    for (let i = 0; i < 200 && !(await content.info(ctx(), big.layers[0]!.digest).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 25));
    const gc = d.daemon.parts.get(GC);
    await gc.collect();
    expect(await content.info(ctx(), big.layers[0]!.digest)).toBeDefined();
    release();
    const r = await pulling;
    await gc.collect();
    for (const l of big.layers) expect((await content.info(ctx(), l.digest)).digest).toBe(l.digest);
    expect(await overlay.stat(ctx(), r.unpacked!.chainId)).toBeDefined();
  });

  itRoot('the pulled image runs with ctr run against berthd', async () => {
    await transfer.pull(ctx(), { ref: `${proxy.host}/pull/busybox:1`, name: 'docker.io/library/pulled:1' });
    const ls = await ctr(d.dirs.address, ['images', 'ls', '-q'], { namespace: ns });
    expect(ls.stdout.split('\n')).toContain('docker.io/library/pulled:1');
    const r = await ctr(
      d.dirs.address,
      ['run', '--rm', 'docker.io/library/pulled:1', `pulled-${process.pid}`, 'sh', '-c', 'echo from-pulled-image; cat /etc/hostname'],
      { namespace: ns, timeoutMs: 60_000 },
    );
    expect(r).toMatchObject({ code: 0, stdout: 'from-pulled-image\nberth\n' });
  });
});
