import { background } from '../../src/core/context';
import { sha256Of } from '../../src/core/digest';
import { MetadataDB } from '../../src/metadata/db';
import { NamespacedContentStore } from '../../src/metadata/content';
import { keys, LEASE_RESOURCE } from '../../src/metadata/schema';
import { openNamespacedStore, type NamespacedStoreFixture } from '../helpers/content-store';

describe('NamespacedContentStore', () => {
  let fx: NamespacedStoreFixture;
  let db: MetadataDB;
  let store: NamespacedContentStore;
  const a = background('a');
  const b = background('b');
  beforeEach(async () => {
    fx = await openNamespacedStore('berth-nscontent-');
    ({ db, store } = fx);
  });
  afterEach(() => fx.close());

  async function put(ctx = a, data = Buffer.from('hello'), ref = 'r', labels?: Record<string, string>) {
    const w = await store.writer(ctx, { ref });
    await w.write(data);
    return w.commit(data.length, undefined, labels);
  }

  it('makes a blob visible only in the namespace that wrote it; creates the namespace record', async () => {
    const d = await put(a, Buffer.from('hello'), 'r', { x: '1' });
    expect((await store.info(a, d)).labels).toEqual({ x: '1' });
    await expect(store.info(b, d)).rejects.toMatchObject({ kind: 'NotFound' });
    expect(await db.view((tx) => tx.has(keys.namespace('a')))).toBe(true);
    const chunks: Buffer[] = [];
    for await (const c of store.read(a, d)) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    await expect(
      (async () => {
        for await (const _ of store.read(b, d)) void _;
      })(),
    ).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('shares an existing blob: writing its expected digest in another namespace only adds the record', async () => {
    const data = Buffer.from('shared');
    const d = await put(a, data);
    const w = await store.writer(b, { ref: 'other', expected: d, total: data.length });
    expect((await w.status()).offset).toBe(data.length);
    expect(await w.commit(data.length, d)).toBe(d);
    expect((await store.info(b, d)).size).toBe(data.length);
    await expect(store.writer(b, { ref: 'again', expected: d })).rejects.toMatchObject({ kind: 'AlreadyExists' });
  });

  it('committing the same bytes twice in one namespace is AlreadyExists; in another it is fine', async () => {
    const d = await put(a, Buffer.from('dup'), 'r1');
    await expect(put(a, Buffer.from('dup'), 'r2')).rejects.toMatchObject({ kind: 'AlreadyExists' });
    expect(await put(b, Buffer.from('dup'), 'r3')).toBe(d);
  });

  it('updates labels by field path and refuses other paths', async () => {
    const d = await put(a, Buffer.from('lbl'), 'r', { keep: '1', drop: '2' });
    let i = await store.update(a, { digest: d, labels: { 'containerd.io/gc.ref.content.l.0': 'x', drop: '' } }, [
      'labels.containerd.io/gc.ref.content.l.0',
      'labels.drop',
    ]);
    expect(i.labels).toEqual({ keep: '1', 'containerd.io/gc.ref.content.l.0': 'x' });
    i = await store.update(a, { digest: d, labels: { only: 'y' } }, ['labels']);
    expect(i.labels).toEqual({ only: 'y' });
    i = await store.update(a, { digest: d, labels: { z: 'z' } });
    expect(i.labels).toEqual({ z: 'z' });
    await expect(store.update(a, { digest: d, labels: {} }, ['size'])).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(store.update(b, { digest: d, labels: {} })).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('walks with filters on digest, size and labels', async () => {
    const d1 = await put(a, Buffer.from('one'), 'r1', { kind: 'x' });
    const d2 = await put(a, Buffer.from('three'), 'r2', { kind: 'y', 'a.b': 'c' });
    const walk = async (f?: string[]) => {
      const out: string[] = [];
      for await (const i of store.walk(a, f)) out.push(i.digest);
      return out.sort();
    };
    expect(await walk()).toEqual([d1, d2].sort());
    expect(await walk([''])).toEqual([d1, d2].sort());
    expect(await walk(['labels.kind==x'])).toEqual([d1]);
    expect(await walk([`digest==${d2}`])).toEqual([d2]);
    expect(await walk(['size==3'])).toEqual([d1]);
    expect(await walk(['labels."a.b"==c'])).toEqual([d2]);
    expect(await walk(['labels.kind==x', 'labels.kind==y'])).toEqual([d1, d2].sort());
    await expect(walk(['=='])).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });

  it('deletes only the record (NotFound when absent), leaving the disk blob for GC', async () => {
    const d = await put(a, Buffer.from('del'));
    await put(b, Buffer.from('del'), 'rb');
    await store.delete(a, d);
    await expect(store.info(a, d)).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(store.delete(a, d)).rejects.toMatchObject({ kind: 'NotFound' });
    expect((await store.info(b, d)).size).toBe(3);
    expect(await store.backend.has(d)).toBe(true);
  });

  it('tracks ingests per namespace: status, listStatuses, abort', async () => {
    const w = await store.writer(a, { ref: 'pull-1', total: 10 });
    await w.write(Buffer.from('12345'));
    await w.close();
    expect(await store.status(a, 'pull-1')).toMatchObject({ ref: 'pull-1', offset: 5, total: 10 });
    await expect(store.status(b, 'pull-1')).rejects.toMatchObject({ kind: 'NotFound' });
    expect((await store.listStatuses(a, [''])).map((s) => s.ref)).toEqual(['pull-1']);
    expect(await store.listStatuses(b)).toEqual([]);
    expect(await store.listStatuses(a, ['ref==nope'])).toEqual([]);
    // The same ref in another namespace is a different ingest.
    const wb = await store.writer(b, { ref: 'pull-1' });
    expect((await wb.status()).offset).toBe(0);
    await wb.close();
    await store.abort(a, 'pull-1');
    await expect(store.status(a, 'pull-1')).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(store.abort(a, 'pull-1')).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('records lease resources (ingest while open, content on commit) and refuses unknown leases', async () => {
    const leased = background('a', { lease: 'l1' });
    await expect(store.writer(leased, { ref: 'x' })).rejects.toMatchObject({ kind: 'NotFound', message: 'lease l1: not found' });
    await db.update(async (tx) => tx.put(keys.lease('a', 'l1'), { labels: {}, createdAt: new Date().toISOString() }));
    const w = await store.writer(leased, { ref: 'x' });
    expect(await db.view((tx) => tx.has(keys.leaseResource('a', 'l1', LEASE_RESOURCE.ingest, 'x')))).toBe(true);
    await w.write(Buffer.from('leased'));
    const d = await w.commit(6);
    expect(await db.view((tx) => tx.has(keys.leaseResource('a', 'l1', LEASE_RESOURCE.content, d)))).toBe(true);
    expect(await db.view((tx) => tx.has(keys.leaseResource('a', 'l1', LEASE_RESOURCE.ingest, 'x')))).toBe(false);
    expect(d).toBe(sha256Of('leased'));
  });

  it('validates refs and digests', async () => {
    await expect(store.writer(a, { ref: '' })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(store.writer(a, { ref: 'x'.repeat(257) })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(store.writer(a, { ref: 'a\0b' })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(store.info(a, 'sha256:nothex')).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(store.writer(a, { ref: 'ok', expected: 'md5:abc' })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(store.info(background(''), sha256Of('x'))).rejects.toMatchObject({ kind: 'FailedPrecondition' });
  });
});
