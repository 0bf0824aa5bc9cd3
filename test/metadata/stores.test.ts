import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { background } from '../../src/core/context';
import { errorKind } from '../../src/core/errors';
import { MetadataDB } from '../../src/metadata/db';
import { LevelImageStore } from '../../src/metadata/images';
import { LevelLeaseStore, generateLeaseId } from '../../src/metadata/leases';
import { LevelNamespaceStore } from '../../src/metadata/namespaces';
import { ensureNamespace } from '../../src/metadata/namespace-record';
import { keys } from '../../src/metadata/schema';
import { isValidId } from '../../src/core/identifiers';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const MT = 'application/vnd.oci.image.manifest.v1+json';
const ctx = background('default');

async function kindOf(p: Promise<unknown>) {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return errorKind(e) ?? `unclassified: ${(e as Error).message}`;
  }
}

let dir: string;
let db: MetadataDB;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-meta-'));
  db = await MetadataDB.open(join(dir, 'meta'));
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('namespaces', () => {
  it('creates, lists, gets, updates with masks and deletes', async () => {
    const s = new LevelNamespaceStore(db);
    expect(await s.list(ctx)).toEqual([]);
    await s.create(ctx, { name: 'testns', labels: { foo: 'bar', 'a.b/c': 'x' } });
    expect(await kindOf(s.create(ctx, { name: 'testns', labels: {} }))).toBe('AlreadyExists');
    expect(await s.get(ctx, 'testns')).toEqual({ name: 'testns', labels: { foo: 'bar', 'a.b/c': 'x' } });
    expect(await s.update(ctx, { name: 'testns', labels: { foo: 'baz' } }, ['labels.foo', 'labels.a.b/c'])).toEqual({ name: 'testns', labels: { foo: 'baz' } });
    expect(await s.update(ctx, { name: 'testns', labels: { z: '1' } })).toEqual({ name: 'testns', labels: { z: '1' } });
    expect(await kindOf(s.update(ctx, { name: 'testns', labels: {} }, ['name']))).toBe('InvalidArgument');
    expect(await kindOf(s.update(ctx, { name: 'nope', labels: {} }))).toBe('NotFound');
    expect((await s.list(ctx)).map((n) => n.name)).toEqual(['testns']);
    expect((await s.list(ctx, 'labels.z==1')).map((n) => n.name)).toEqual(['testns']);
    expect(await s.list(ctx, 'labels.z==2')).toEqual([]);
    await s.delete(ctx, 'testns');
    expect(await kindOf(s.get(ctx, 'testns'))).toBe('NotFound');
    expect(await kindOf(s.delete(ctx, 'testns'))).toBe('NotFound');
  });

  it('validates names and labels', async () => {
    const s = new LevelNamespaceStore(db);
    for (const name of ['', '../x', 'a/b', 'x'.repeat(77), 'a\x00b']) expect(await kindOf(s.create(ctx, { name, labels: {} }))).toBe('InvalidArgument');
    expect(await kindOf(s.create(ctx, { name: 'ok', labels: { k: 'v'.repeat(5000) } }))).toBe('InvalidArgument');
  });

  it('lists implicit namespaces and refuses to delete a non-empty one', async () => {
    const s = new LevelNamespaceStore(db);
    const images = new LevelImageStore(db);
    await images.create(background('ns1'), { name: 'img', labels: {}, target: { mediaType: MT, digest: D1, size: 1 } });
    await db.update(async (tx) => {
      await ensureNamespace(tx, 'ns2');
      tx.put(keys.blob('ns2', D1), { size: 1, labels: {}, createdAt: '', updatedAt: '' });
    });
    expect((await s.list(ctx)).map((n) => n.name).sort()).toEqual(['ns1', 'ns2']);
    const e1 = await s.delete(ctx, 'ns1').catch((e) => e);
    expect(errorKind(e1)).toBe('FailedPrecondition');
    expect(e1.message).toMatch(/images/);
    expect(await kindOf(s.delete(ctx, 'ns2'))).toBe('FailedPrecondition');
    await images.delete(background('ns1'), 'img');
    await s.delete(ctx, 'ns1');
    expect((await s.list(ctx)).map((n) => n.name)).toEqual(['ns2']);
  });
});

describe('images', () => {
  const img = (name: string, digest = D1) => ({ name, labels: { l: 'v' }, target: { mediaType: MT, digest, size: 10 } });

  it('create, get, list with filters, update with masks, delete', async () => {
    const s = new LevelImageStore(db);
    const c = await s.create(ctx, img('docker.io/library/a:1'));
    expect(c.createdAt.getTime()).toBe(c.updatedAt.getTime());
    expect(await kindOf(s.create(ctx, img('docker.io/library/a:1')))).toBe('AlreadyExists');
    await s.create(ctx, { ...img('b', D2), labels: { 'x.y/z': '1' } });
    expect((await s.get(ctx, 'docker.io/library/a:1')).target).toEqual({ mediaType: MT, digest: D1, size: 10 });
    expect((await s.list(ctx)).map((i) => i.name)).toEqual(['b', 'docker.io/library/a:1']);
    expect((await s.list(ctx, [`target.digest==${D2}`])).map((i) => i.name)).toEqual(['b']);
    expect((await s.list(ctx, ['name~=^docker'])).map((i) => i.name)).toEqual(['docker.io/library/a:1']);
    expect((await s.list(ctx, ['labels."x.y/z"==1'])).map((i) => i.name)).toEqual(['b']);
    expect((await s.list(ctx, [`target.mediatype==${MT}`])).length).toBe(2);
    expect(await s.list(background('other'))).toEqual([]);

    // mask: target only (what import sends); labels stay
    const u = await s.update(ctx, { name: 'b', labels: {}, target: { mediaType: MT, digest: D1, size: 3, annotations: { 'io.containerd.image.name': 'b' } } }, [
      'target',
    ]);
    expect(u.labels).toEqual({ 'x.y/z': '1' });
    expect(u.target).toEqual({ mediaType: MT, digest: D1, size: 3, annotations: { 'io.containerd.image.name': 'b' } });
    expect(u.updatedAt.getTime()).toBeGreaterThanOrEqual(u.createdAt.getTime());
    // label and annotation paths
    const u2 = await s.update(ctx, { name: 'b', labels: { n: '2' }, target: { mediaType: MT, digest: D1, size: 3, annotations: { k: 'v' } } }, [
      'labels.n',
      'labels.x.y/z',
      'annotations.k',
    ]);
    expect(u2.labels).toEqual({ n: '2' });
    expect(u2.target.annotations).toEqual({ 'io.containerd.image.name': 'b', k: 'v' });
    // no mask: full replace
    const u3 = await s.update(ctx, img('b', D2));
    expect(u3.labels).toEqual({ l: 'v' });
    expect(u3.target).toEqual({ mediaType: MT, digest: D2, size: 10 });
    expect(u3.createdAt).toEqual(u.createdAt);
    expect(await kindOf(s.update(ctx, img('missing')))).toBe('NotFound');
    expect(await kindOf(s.update(ctx, img('b'), ['name']))).toBe('InvalidArgument');
    await s.delete(ctx, 'b');
    expect(await kindOf(s.get(ctx, 'b'))).toBe('NotFound');
    expect(await kindOf(s.delete(ctx, 'b'))).toBe('NotFound');
  });

  it('validates', async () => {
    const s = new LevelImageStore(db);
    expect(await kindOf(s.create(ctx, img('')))).toBe('InvalidArgument');
    expect(await kindOf(s.create(ctx, img('x', 'sha256:zz')))).toBe('InvalidArgument');
    expect(await kindOf(s.create(ctx, { name: 'x', labels: {}, target: { mediaType: '', digest: D1, size: 1 } }))).toBe('InvalidArgument');
    expect(await kindOf(s.create(ctx, img('a\x00b')))).toBe('InvalidArgument');
    expect(await kindOf(s.list(ctx, ['name=='])).valueOf()).toBe('InvalidArgument');
    expect(await kindOf(s.get(background(''), 'x'))).toBe('FailedPrecondition');
    await s.create(ctx, img('ok'));
    expect(await kindOf(s.update(ctx, { name: 'ok', labels: {}, target: { mediaType: MT, digest: 'bad', size: 1 } }, ['target']))).toBe('InvalidArgument');
  });
});

describe('leases', () => {
  it('generates ids in containerd format', () => {
    for (let i = 0; i < 500; i++) expect(isValidId(generateLeaseId())).toBe(true);
  });

  it('create, list, resources, delete', async () => {
    const s = new LevelLeaseStore(db);
    const l = await s.create(ctx, { labels: { 'containerd.io/gc.expire': '2100-01-01T00:00:00Z' } });
    expect(l.id).toMatch(/^\d+-[A-Za-z0-9_-]{4}$/);
    await s.create(ctx, { id: 'mine', labels: { a: 'b' } });
    expect(await kindOf(s.create(ctx, { id: 'mine' }))).toBe('AlreadyExists');
    expect(await kindOf(s.create(ctx, { id: '../x' }))).toBe('InvalidArgument');
    expect(await kindOf(s.create(ctx, { id: 'a/b' }))).toBe('InvalidArgument');
    // ids ctr generates that are not containerd identifiers (containerd accepts them)
    for (const id of ['511965754-ZLU_', '1-_abc', '2--x-']) expect((await s.create(ctx, { id })).id).toBe(id);
    for (const id of ['511965754-ZLU_', '1-_abc', '2--x-']) await s.delete(ctx, id);
    expect((await s.list(ctx)).map((x) => x.id).sort()).toEqual([l.id, 'mine'].sort());
    expect((await s.list(ctx, ['id==mine'])).map((x) => x.id)).toEqual(['mine']);
    expect((await s.list(ctx, ['labels.a==b'])).map((x) => x.id)).toEqual(['mine']);

    await s.addResource(ctx, 'mine', { type: 'content', id: D1 });
    await s.addResource(ctx, 'mine', { type: 'snapshots/overlayfs', id: 'extract-1 sha256:abc' });
    await s.addResource(ctx, 'mine', { type: 'ingests', id: 'tar-blobs/sha256/x' });
    expect(await kindOf(s.addResource(ctx, 'mine', { type: 'content', id: 'nope' }))).toBe('InvalidArgument');
    expect(await kindOf(s.addResource(ctx, 'mine', { type: 'bogus', id: 'x' }))).toBe('InvalidArgument');
    expect(await kindOf(s.addResource(ctx, 'gone', { type: 'content', id: D1 }))).toBe('NotFound');
    expect((await s.listResources(ctx, 'mine')).sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: 'content', id: D1 },
      { type: 'ingests', id: 'tar-blobs/sha256/x' },
      { type: 'snapshots/overlayfs', id: 'extract-1 sha256:abc' },
    ]);
    await s.deleteResource(ctx, 'mine', { type: 'content', id: D1 });
    expect((await s.listResources(ctx, 'mine')).length).toBe(2);
    await s.delete(ctx, 'mine');
    expect(await kindOf(s.delete(ctx, 'mine'))).toBe('NotFound');
    expect(await kindOf(s.listResources(ctx, 'mine'))).toBe('NotFound');
    // resource records went with the lease
    const left = await db.view(async (tx) => {
      let n = 0;
      for await (const _ of tx.list(keys.leaseResources('default', 'mine'))) n++;
      return n;
    });
    expect(left).toBe(0);
  });
});
