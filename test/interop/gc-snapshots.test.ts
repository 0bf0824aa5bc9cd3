/**
 * Issue 3 acceptance, garbage collection of unpacked images (real berthd binary, real ctr):
 *  - `images rm --sync` of every image leaves no snapshot (records or dirs) and no blob behind;
 *  - blobs and snapshots written under a live lease survive a synchronous collection and are
 *    collected once the lease is deleted (gRPC level), and a snapshot key that is committed or
 *    removed leaves no lease record behind;
 *  - Snapshots/Remove and Content/Delete schedule a collection by themselves;
 *  - a pull in progress under ctr's lease is never collected, whatever collections run meanwhile.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { ctr, type RunResult } from '../helpers/ctr';
import { startContainerd, ok, type Containerd } from '../helpers/containerd';
import { call, collect, nsMetadata, rawClient, startProcess } from '../helpers/daemon';
import { buildImages, busyboxImage, hostileFeaturesImage } from '../helpers/images';
import { largeImage } from '../helpers/large-image';
import { writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, type Registry } from '../helpers/registry';
import { compareUnpacked } from '../helpers/unpack-compare';
import { WriteSession } from '../content/write-session';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const ROOT = [requireRoot(), requireTool('ctr')];
const itRoot = itWith(...ROOT);
const itRootFull = itWith(...ROOT, requireTool('containerd', 'docker-registry', 'skopeo'));

const CONTENT = 'containerd.services.content.v1.Content';
const LEASES = 'containerd.services.leases.v1.Leases';
const SNAPSHOTS = 'containerd.services.snapshots.v1.Snapshots';
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

type Berth = Awaited<ReturnType<typeof startProcess>>;
const lsDir = async (p: string) => (await readdir(p).catch(() => [] as string[])).sort();
const snapshotDirs = (b: Berth) => lsDir(join(b.dirs.root, 'snapshots', 'overlayfs', 'snapshots'));
const blobFiles = (b: Berth) => lsDir(join(b.dirs.root, 'content', 'blobs', 'sha256'));
const lines = (r: RunResult) =>
  r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

function must(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code ?? r.signal}: ${r.stderr || r.stdout}`);
  return r;
}

/** Bounded wait for something a background collection does (no timing is asserted). */
async function eventually<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('gc of unpacked images (real berthd, real ctr)', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-gc-snap-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  itRoot(
    'images rm --sync of every image, in every namespace, leaves no snapshot, no snapshot dir, no blob, no ingest, no lease',
    async () => {
      const built = await buildImages(join(work, 'rm-sync'), [
        busyboxImage('docker.io/library/busybox:gc'),
        hostileFeaturesImage('docker.io/library/hostile:gc'),
      ]);
      const b = await startProcess();
      try {
        const a = b.dirs.address;
        // Two namespaces, two archive formats (different manifests and layer blobs, same chains).
        must(await ctr(a, ['images', 'import', built.ociArchive], { namespace: 'default', timeoutMs: 120000 }), 'import oci');
        must(await ctr(a, ['images', 'import', built.dockerArchive], { namespace: 'other', timeoutMs: 120000 }), 'import docker');
        for (const ns of ['default', 'other']) {
          // Each chain: busybox 1 snapshot, hostile 3 (sharing none with busybox: different layer 1).
          expect(lines(must(await ctr(a, ['snapshots', 'ls'], { namespace: ns }), 'snapshots ls')).length).toBe(1 + 4);
          expect(lines(must(await ctr(a, ['content', 'ls', '-q'], { namespace: ns }), 'content ls')).length).toBeGreaterThan(0);
        }
        expect((await snapshotDirs(b)).length).toBe(8);
        expect((await blobFiles(b)).length).toBeGreaterThan(0);

        for (const ns of ['default', 'other']) {
          const names = lines(must(await ctr(a, ['images', 'ls', '-q'], { namespace: ns }), 'images ls'));
          expect(names.sort()).toEqual(['docker.io/library/busybox:gc', 'docker.io/library/hostile:gc']);
          must(await ctr(a, ['images', 'rm', '--sync', ...names], { namespace: ns, timeoutMs: 60000 }), 'images rm --sync');
        }
        for (const ns of ['default', 'other']) {
          expect(lines(must(await ctr(a, ['snapshots', 'ls'], { namespace: ns }), 'snapshots ls')).slice(1)).toEqual([]); // header only
          expect(lines(must(await ctr(a, ['content', 'ls', '-q'], { namespace: ns }), 'content ls'))).toEqual([]);
          expect(lines(must(await ctr(a, ['leases', 'ls', '-q'], { namespace: ns }), 'leases ls'))).toEqual([]);
        }
        expect(await snapshotDirs(b)).toEqual([]);
        expect(await blobFiles(b)).toEqual([]);
        expect(await lsDir(join(b.dirs.root, 'content', 'ingest'))).toEqual([]);
      } finally {
        await b.stop();
      }
    },
    180000,
  );

  describe('leases over gRPC (overlayfs snapshots, blobs on disk)', () => {
    let b: Berth;
    let content: grpc.Client;
    let leases: grpc.Client;
    let snaps: grpc.Client;
    beforeEach(async () => {
      if (!met(...ROOT)) return;
      b = await startProcess();
      content = rawClient(b.dirs.address, CONTENT);
      leases = rawClient(b.dirs.address, LEASES);
      snaps = rawClient(b.dirs.address, SNAPSHOTS);
    });
    afterEach(async () => {
      if (!met(...ROOT)) return;
      for (const c of [content, leases, snaps]) c.close();
      await b.stop();
    });

    async function write(data: Buffer, md: grpc.Metadata): Promise<string> {
      const s = new WriteSession(content, md);
      const ref = `ref-${sha(data).slice(7, 19)}`;
      await s.send({ action: 'STAT', ref, total: data.length, expected: sha(data) });
      await s.send({ action: 'WRITE', ref, offset: 0, data });
      await s.send({ action: 'COMMIT', ref, offset: data.length, total: data.length, expected: sha(data) });
      await s.close();
      return sha(data);
    }
    const syncGc = async () => {
      const id = (await call(leases, 'Create', {})).lease.id;
      await call(leases, 'Delete', { id, sync: true });
    };
    const snapshotNames = async () => (await collect(snaps, 'List', { snapshotter: 'overlayfs' })).flatMap((r: any) => r.info.map((i: any) => i.name)).sort();
    const listed = async () => (await collect(content, 'List', {})).flatMap((r: any) => r.info.map((i: any) => i.digest)).sort();
    const resources = async (id: string) =>
      ((await call(leases, 'ListResources', { id })).resources as { id: string; type: string }[]).map((r) => `${r.type} ${r.id}`).sort();

    itRoot('blobs and snapshots under a live lease survive sync collections; deleting the lease collects them', async () => {
      const lease = (await call(leases, 'Create', { id: 'pull-in-progress' })).lease.id;
      const md = nsMetadata('default', lease);
      const blob = await write(Buffer.from('layer under lease'), md);
      await call(snaps, 'Prepare', { snapshotter: 'overlayfs', key: 'extract-1 chain-1', parent: '' }, md);
      await call(snaps, 'Commit', { snapshotter: 'overlayfs', name: 'chain-1', key: 'extract-1 chain-1' }, md);
      await call(snaps, 'Prepare', { snapshotter: 'overlayfs', key: 'extract-2 chain-2', parent: 'chain-1' }, md);
      // The committed key no longer exists, so the lease no longer names it.
      expect(await resources(lease)).toEqual([`content ${blob}`, 'snapshots/overlayfs chain-1', 'snapshots/overlayfs extract-2 chain-2']);
      for (let i = 0; i < 3; i++) await syncGc();
      expect(await listed()).toEqual([blob]);
      expect(await blobFiles(b)).toEqual([blob.slice(7)]);
      expect(await snapshotNames()).toEqual(['chain-1', 'extract-2 chain-2']);
      expect((await snapshotDirs(b)).length).toBe(2);

      await call(leases, 'Delete', { id: lease, sync: true });
      expect(await listed()).toEqual([]);
      expect(await blobFiles(b)).toEqual([]);
      expect(await snapshotNames()).toEqual([]);
      expect(await snapshotDirs(b)).toEqual([]);
    });

    itRoot('Snapshots/Remove drops every lease record of the key, so a new snapshot with that key is not pinned', async () => {
      const lease = (await call(leases, 'Create', { id: 'long-lived' })).lease.id;
      await call(snaps, 'Prepare', { snapshotter: 'overlayfs', key: 'k', parent: '' }, nsMetadata('default', lease));
      expect(await resources(lease)).toEqual(['snapshots/overlayfs k']);
      await call(snaps, 'Remove', { snapshotter: 'overlayfs', key: 'k' }); // no lease on the call
      expect(await resources(lease)).toEqual([]);
      // A later, unleased snapshot with the same key is collectable.
      await call(snaps, 'Prepare', { snapshotter: 'overlayfs', key: 'k', parent: '' });
      await syncGc();
      expect(await snapshotNames()).toEqual([]);
      expect(await snapshotDirs(b)).toEqual([]);
    });

    itRoot('Snapshots/Remove and Content/Delete schedule a collection by themselves (the parent and the file go without another trigger)', async () => {
      await call(snaps, 'Prepare', { snapshotter: 'overlayfs', key: 'base-active', parent: '' });
      await call(snaps, 'Commit', { snapshotter: 'overlayfs', name: 'base', key: 'base-active' });
      await call(snaps, 'Prepare', { snapshotter: 'overlayfs', key: 'child', parent: 'base' });
      const blob = await write(Buffer.from('unreferenced blob'), nsMetadata());
      expect(await snapshotNames()).toEqual(['base', 'child']);
      expect(await blobFiles(b)).toEqual([blob.slice(7)]);

      await call(snaps, 'Remove', { snapshotter: 'overlayfs', key: 'child' });
      expect(await eventually(snapshotNames, (n) => n.length === 0)).toEqual([]);
      expect(
        await eventually(
          () => snapshotDirs(b),
          (n) => n.length === 0,
        ),
      ).toEqual([]);
      // The blob went with that collection (unreferenced): write another, delete it by hand.
      const blob2 = await write(Buffer.from('deleted by hand'), nsMetadata());
      expect(await blobFiles(b)).toContain(blob2.slice(7));
      await call(content, 'Delete', { digest: blob2 });
      expect(
        await eventually(
          () => blobFiles(b),
          (f) => !f.includes(blob2.slice(7)),
        ),
      ).not.toContain(blob2.slice(7));
    });
  });

  describe('a pull in progress under its lease', () => {
    let registry: Registry | undefined;
    let ctrd: Containerd | undefined;
    let b: Berth | undefined;
    let ref = '';
    let diffIds: string[] = [];
    beforeAll(async () => {
      if (!met(...ROOT)) return;
      registry = await startRegistry();
      const layout = join(work, 'large');
      // 64 MiB over 4 data layers: long enough for many collections to run while ctr pulls.
      const img = await writeOciImage(layout, largeImage({ name: 'docker.io/library/large:gc', totalMiB: 64, filesPerLayer: 64 }));
      diffIds = img.layers.map((l) => l.diffId);
      ref = await pushImage(registry, layout, img.refName, 'library/large:gc');
      await rm(layout, { recursive: true, force: true });
      b = await startProcess();
      ctrd = await startContainerd();
    }, 300000);
    afterAll(async () => {
      await b?.stop();
      await ctrd?.stop();
      await registry?.stop();
    }, 60000);

    itRootFull(
      'is never collected by sync collections running meanwhile, and unpacks like containerd',
      async () => {
        const a = b!.dirs.address;
        let pulling = true;
        let during = 0;
        const pull = ctr(a, ['images', 'pull', '--plain-http', ref], { timeoutMs: 240000 }).finally(() => (pulling = false));
        // `leases create` + `leases rm --sync` = one synchronous collection, back to back until the pull ends.
        const storm = (async () => {
          while (pulling) {
            const id = lines(must(await ctr(a, ['leases', 'create'], { timeoutMs: 30000 }), 'leases create'))[0];
            must(await ctr(a, ['leases', 'rm', '--sync', id], { timeoutMs: 60000 }), 'leases rm --sync');
            if (pulling) during++;
          }
        })();
        const r = await pull;
        await storm;
        expect({
          code: r.code,
          err: r.stderr.split('\n').filter((l) => l && !/msg="(failed to get content info|active check failed)" error="context canceled"/.test(l)),
        }).toEqual({ code: 0, err: [] });
        expect(during).toBeGreaterThan(0);
        // ctr checked each Apply against diff_ids; everything is present and the unpack equals containerd's.
        must(await ctr(a, ['content', 'ls'], { timeoutMs: 30000 }), 'content ls');
        const check = lines(must(await ctr(a, ['images', 'check'], { timeoutMs: 30000 }), 'images check'));
        expect(check.find((l) => l.startsWith(ref))).toMatch(/complete/);
        ok(await ctrd!.ctr(['images', 'pull', '--plain-http', ref], { timeoutMs: 240000 }), 'containerd pull');
        expect(await compareUnpacked({ address: a, label: 'berth' }, { address: ctrd!.address, label: 'containerd' }, diffIds)).toEqual([]);
        // And once the image goes, so does everything the pull wrote.
        must(await ctr(a, ['images', 'rm', '--sync', ref], { timeoutMs: 60000 }), 'images rm --sync');
        expect(await snapshotDirs(b!)).toEqual([]);
        expect(await blobFiles(b!)).toEqual([]);
        console.log(`sync collections completed while the pull ran: ${during}`);
      },
      300000,
    );
  });
});
