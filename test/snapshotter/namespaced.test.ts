import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { background } from '../../src/core/context';
import { MetadataDB } from '../../src/metadata/db';
import { keys } from '../../src/metadata/schema';
import { NamespacedSnapshotter } from '../../src/metadata/snapshots';
import { OverlaySnapshotter } from '../../src/snapshotter/overlay';
import { kindOf, snapshotterSuite } from '../suites/snapshotter-suite';

async function openView(dir: string) {
  const db = await MetadataDB.open(join(dir, 'meta'));
  const backend = await OverlaySnapshotter.open(join(dir, 'overlayfs'));
  return { db, backend, ns: new NamespacedSnapshotter('overlayfs', db, backend) };
}

snapshotterSuite('namespaced view over overlayfs', async (dir) => {
  let v = await openView(dir);
  const close = async () => {
    await v.backend.close();
    await v.db.close();
  };
  return {
    sn: v.ns.bind(background('default')),
    backendRoot: join(dir, 'overlayfs'),
    reopen: async () => {
      await close();
      v = await openView(dir);
      return v.ns.bind(background('default'));
    },
    close,
  };
});

describe('namespaced snapshots', () => {
  let dir: string;
  let v: Awaited<ReturnType<typeof openView>>;
  const a = background('ns-a');
  const b = background('ns-b');
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-nssnap-'));
    v = await openView(dir);
  });
  afterEach(async () => {
    await v.backend.close();
    await v.db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the same key in two namespaces is two snapshots; names and parents resolve per namespace', async () => {
    const ma = await v.ns.prepare(a, 'k');
    const mb = await v.ns.prepare(b, 'k');
    expect(ma[0]!.source).not.toBe(mb[0]!.source);
    await v.ns.commit(a, 'base', 'k');
    expect(await kindOf(v.ns.prepare(b, 'x', 'base'))).toBe('NotFound');
    await v.ns.commit(b, 'base', 'k');
    await v.ns.prepare(b, 'x', 'base');
    expect(await kindOf(v.ns.remove(b, 'base'))).toBe('FailedPrecondition');
    await v.ns.remove(a, 'base');
    expect(await kindOf(v.ns.stat(a, 'base'))).toBe('NotFound');
    expect((await v.ns.stat(b, 'base')).kind).toBe('COMMITTED');
    // Namespaces come into existence implicitly; backend keys are <ns>/<seq>/<key>.
    expect(await v.db.view((tx) => tx.has(keys.namespace('ns-b')))).toBe(true);
    const backendKeys: string[] = [];
    for await (const i of v.backend.walk()) backendKeys.push(i.name);
    expect(backendKeys.sort().map((k) => k.replace(/\/\d+\//, '/N/'))).toEqual(['ns-b/N/base', 'ns-b/N/x']);
    expect(await kindOf(v.ns.stat(background(''), 'x'))).toBe('FailedPrecondition');
  });

  it('writes under a lease reference the snapshot from the lease; an unknown lease is NotFound', async () => {
    const ctx = background('default', { lease: 'l1' });
    expect(await kindOf(v.ns.prepare(ctx, 'k'))).toBe('NotFound');
    await v.db.update(async (tx) => tx.put(keys.lease('default', 'l1'), { labels: {}, createdAt: new Date().toISOString() }));
    await v.ns.prepare(ctx, 'k');
    await v.ns.commit(ctx, 'c', 'k');
    const res = await v.db.view(async (tx) => {
      const out: string[] = [];
      for await (const e of tx.list(keys.leaseResources('default', 'l1'))) out.push(e.key.slice(-2).join(' '));
      return out.sort();
    });
    // Commit drops the lease's record of the active key, which no longer exists (as containerd's Commit does).
    expect(res).toEqual(['snapshots/overlayfs c']);
  });

  it('cleanup removes backend snapshots no record refers to (leaf first), and the GC collector lists and removes', async () => {
    await v.backend.prepare('orphan-k');
    await v.backend.commit('orphan-c', 'orphan-k');
    await v.backend.prepare('orphan-child', 'orphan-c');
    await v.ns.prepare(a, 'kept');
    await v.ns.cleanup(a);
    const left: string[] = [];
    for await (const i of v.backend.walk()) left.push(i.name);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^ns-a\/\d+\/kept$/);
    expect(await readdir(join(dir, 'overlayfs', 'snapshots'))).toHaveLength(1);

    const col = v.ns.collector(a.log);
    const listed: unknown[] = [];
    for await (const r of col.list('ns-a')) listed.push(r);
    expect(listed).toEqual([{ key: 'kept', labels: {} }]);
    await col.remove('ns-a', 'kept');
    expect(await readdir(join(dir, 'overlayfs', 'snapshots'))).toHaveLength(0);
  });
});
