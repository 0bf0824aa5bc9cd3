import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { call, collect, nsMetadata, rawClient, startInProcess } from '../helpers/daemon';
import { GC } from '../../src/daemon/slices/gc';
import { WriteSession } from '../content/write-session';
import { ingestDir } from '../../src/content/paths';

const CONTENT = 'containerd.services.content.v1.Content';
const IMAGES = 'containerd.services.images.v1.Images';
const LEASES = 'containerd.services.leases.v1.Leases';
const SNAPSHOTS = 'containerd.services.snapshots.v1.Snapshots';
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('garbage collection through the services', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let content: grpc.Client;
  let images: grpc.Client;
  let leases: grpc.Client;
  let snaps: grpc.Client;
  beforeEach(async () => {
    d = await startInProcess({ gc: { scheduleDelayMs: 3600_000 } });
    content = rawClient(d.dirs.address, CONTENT);
    images = rawClient(d.dirs.address, IMAGES);
    leases = rawClient(d.dirs.address, LEASES);
    snaps = rawClient(d.dirs.address, SNAPSHOTS);
  });
  afterEach(async () => {
    for (const c of [content, images, leases, snaps]) c.close();
    await d.stop();
  });

  async function write(data: Buffer, md: grpc.Metadata, opts: { commit?: boolean; ref?: string } = {}) {
    const s = new WriteSession(content, md);
    const ref = opts.ref ?? `ref-${sha(data).slice(7, 19)}`;
    await s.send({ action: 'STAT', ref, total: data.length, expected: sha(data) });
    await s.send({ action: 'WRITE', ref, offset: 0, data });
    if (opts.commit !== false) await s.send({ action: 'COMMIT', ref, offset: data.length, total: data.length, expected: sha(data) });
    await s.close();
    return sha(data);
  }
  const diskBlobs = async () => (await readdir(join(d.dirs.root, 'content', 'blobs', 'sha256')).catch(() => [] as string[])).sort();
  const listed = async () => (await collect(content, 'List', {})).flatMap((r: any) => r.info.map((i: any) => i.digest)).sort();

  /** What `ctr images pull` leaves behind: manifest → config + layer via labels, config → snapshot. */
  async function pull(name: string, seed: string) {
    const lease = (await call(leases, 'Create', { labels: { 'containerd.io/gc.expire': new Date(Date.now() + 86400_000).toISOString() } })).lease.id;
    const md = nsMetadata('default', lease);
    const layer = await write(Buffer.from(`layer ${seed}`), md);
    const config = await write(Buffer.from(`config ${seed}`), md);
    const manifest = await write(Buffer.from(`manifest ${seed}`), md);
    const labels = { 'containerd.io/gc.ref.content.config': config, 'containerd.io/gc.ref.content.l.0': layer };
    await call(content, 'Update', { info: { digest: manifest, labels }, update_mask: { paths: Object.keys(labels).map((k) => `labels.${k}`) } }, md);
    await call(snaps, 'Prepare', { snapshotter: 'native', key: `extract-${seed}`, parent: '' }, md);
    await call(snaps, 'Commit', { snapshotter: 'native', name: `chain-${seed}`, key: `extract-${seed}` }, md);
    await call(
      content,
      'Update',
      {
        info: { digest: config, labels: { 'containerd.io/gc.ref.snapshot.native': `chain-${seed}` } },
        update_mask: { paths: ['labels.containerd.io/gc.ref.snapshot.native'] },
      },
      md,
    );
    await call(
      images,
      'Create',
      { image: { name, labels: {}, target: { media_type: 'application/vnd.oci.image.manifest.v1+json', digest: manifest, size: 10 } } },
      md,
    );
    await call(leases, 'Delete', { id: lease, sync: true }, md);
    return { layer, config, manifest };
  }
  const snapshotNames = async () => (await collect(snaps, 'List', { snapshotter: 'native' })).flatMap((r: any) => r.info.map((i: any) => i.name)).sort();

  it('images rm --sync removes the image graph (blobs, records, snapshots) and nothing another image needs', async () => {
    const a = await pull('a', 'A');
    const b = await pull('b', 'B');
    // the lease is gone, the images hold everything
    expect(await listed()).toEqual([a.layer, a.config, a.manifest, b.layer, b.config, b.manifest].sort());
    expect(await snapshotNames()).toEqual(['chain-A', 'chain-B']);
    await call(images, 'Delete', { name: 'a', sync: true });
    expect(await listed()).toEqual([b.layer, b.config, b.manifest].sort());
    expect(await diskBlobs()).toEqual([b.layer, b.config, b.manifest].map((x) => x.slice(7)).sort());
    expect(await snapshotNames()).toEqual(['chain-B']);
    await call(images, 'Delete', { name: 'b', sync: true });
    expect(await listed()).toEqual([]);
    expect(await diskBlobs()).toEqual([]);
    expect(await snapshotNames()).toEqual([]);
  });

  it('a live lease protects committed blobs and in-progress ingests; leases rm --sync releases them, partial ingests included', async () => {
    const lease = (await call(leases, 'Create', {})).lease.id;
    const md = nsMetadata('default', lease);
    const kept = await write(Buffer.from('leased blob'), md);
    await write(Buffer.from('half written'), md, { commit: false, ref: 'partial' });
    const unref = await write(Buffer.from('nobody holds me'), nsMetadata());
    await d.daemon.parts.get(GC).collect();
    expect(await listed()).toEqual([kept]);
    expect((await call(content, 'ListStatuses', { filters: [''] })).statuses.map((s: any) => s.ref)).toEqual(['partial']);
    expect(await diskBlobs()).toEqual([kept.slice(7)]);
    expect(unref).not.toBe(kept);
    await call(leases, 'Delete', { id: lease, sync: true });
    expect(await listed()).toEqual([]);
    expect(await diskBlobs()).toEqual([]);
    // An ingest opened under a lease goes with it, data and all (containerd aborts a leased
    // ingest once its lease is deleted; only unleased ones wait for their expiry).
    expect((await call(content, 'ListStatuses', { filters: [''] })).statuses).toEqual([]);
    expect(await readdir(join(d.dirs.root, 'content', 'ingest'))).toEqual([]);
  });

  it('an unleased partial ingest outlives a collection until it expires; ingest dirs without any record are aborted', async () => {
    await write(Buffer.from('no lease'), nsMetadata(), { commit: false, ref: 'unleased' });
    // An ingest dir no namespace knows (a crash between the open and the record).
    const orphan = ingestDir(join(d.dirs.root, 'content'), 'default/orphan');
    await mkdir(orphan, { recursive: true });
    await writeFile(join(orphan, 'ref'), 'default/orphan');
    await writeFile(join(orphan, 'data'), 'orphaned bytes');
    await d.daemon.parts.get(GC).collect();
    expect((await call(content, 'ListStatuses', { filters: [''] })).statuses.map((s: any) => s.ref)).toEqual(['unleased']);
    expect(existsSync(orphan)).toBe(false);
    await call(content, 'Abort', { ref: 'unleased' });
  });
});
