import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../../src/core/logger';
import { MetadataDB, type WriteTx } from '../../src/metadata/db';
import { type GcContent, type GcSnapshots, collectGarbage, labelRefs } from '../../src/metadata/gc';
import { GcScheduler } from '../../src/metadata/gc-scheduler';
import { ensureNamespace } from '../../src/metadata/namespace-record';
import { keys } from '../../src/metadata/schema';

const dg = (n: number | string) => `sha256:${String(n).padStart(64, '0')}`;
const NOW = new Date('2030-01-01T00:00:00Z');
const DAY = 86400_000;

class FakeContent implements GcContent {
  disk = new Set<string>();
  aborted: string[] = [];
  ingests = new Map<string, Date>(); // `${ns}/${ref}` → updatedAt
  async deleteBlob(d: string) {
    this.disk.delete(d);
  }
  async *listBlobs() {
    yield* [...this.disk];
  }
  async abortIngest(ref: string) {
    this.aborted.push(ref);
    this.ingests.delete(ref);
  }
  async ingestUpdatedAt(ns: string, ref: string) {
    return this.ingests.get(`${ns}/${ref}`);
  }
}

/** Snapshots per ns; remove refuses a snapshot that still has children (checks GC's order). */
class FakeSnapshots implements GcSnapshots {
  byNs = new Map<string, Map<string, { parent?: string; labels: Record<string, string> }>>();
  removed: string[] = [];
  lists = 0;
  /** Called before the n-th list (1-based): lets a test change the snapshots between GC phases. */
  beforeList?: (n: number) => void;
  add(ns: string, key: string, parent?: string, labels: Record<string, string> = {}) {
    if (!this.byNs.has(ns)) this.byNs.set(ns, new Map());
    this.byNs.get(ns)!.set(key, { parent, labels });
  }
  async *list(ns: string) {
    this.beforeList?.(++this.lists);
    for (const [key, v] of this.byNs.get(ns) ?? []) yield { key, ...v };
  }
  async remove(ns: string, key: string) {
    const m = this.byNs.get(ns)!;
    for (const v of m.values()) if (v.parent === key) throw new Error(`snapshot ${key} has children`);
    m.delete(key);
    this.removed.push(`${ns}/${key}`);
  }
  keys(ns: string) {
    return [...(this.byNs.get(ns)?.keys() ?? [])].sort();
  }
}

let dir: string;
let db: MetadataDB;
let content: FakeContent;
let snaps: FakeSnapshots;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-gc-'));
  db = await MetadataDB.open(join(dir, 'meta'));
  content = new FakeContent();
  snaps = new FakeSnapshots();
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const gc = () => collectGarbage({ db, log: nullLogger, content, snapshots: new Map([['overlayfs', snaps]]), ingestExpiryMs: DAY, now: () => NOW });

async function seed(ns: string, fn: (tx: WriteTx) => void) {
  await db.update(async (tx) => {
    await ensureNamespace(tx, ns);
    fn(tx);
  });
}
const blob = (tx: WriteTx, ns: string, d: string, labels: Record<string, string> = {}) => {
  tx.put(keys.blob(ns, d), { size: 1, labels, createdAt: NOW.toISOString(), updatedAt: NOW.toISOString() });
  content.disk.add(d);
};
const image = (tx: WriteTx, ns: string, name: string, d: string) =>
  tx.put(keys.image(ns, name), { target: { mediaType: 'm', digest: d, size: 1 }, labels: {}, createdAt: NOW.toISOString(), updatedAt: NOW.toISOString() });
const lease = (tx: WriteTx, ns: string, id: string, labels: Record<string, string> = {}) =>
  tx.put(keys.lease(ns, id), { labels, createdAt: NOW.toISOString() });
const blobsIn = (ns: string) =>
  db.view(async (tx) => {
    const out: string[] = [];
    for await (const { key } of tx.list(keys.blobs(ns))) out.push(key[3]!);
    return out.sort();
  });

describe('labelRefs', () => {
  it('follows content and snapshot reference labels only', () => {
    const out: string[] = [];
    labelRefs(
      {
        'containerd.io/gc.ref.content': 'a',
        'containerd.io/gc.ref.content.l.0': 'b',
        'containerd.io/gc.ref.content/x': 'c',
        'containerd.io/gc.ref.contentx': 'no',
        'containerd.io/gc.ref.snapshot.overlayfs': 'k1',
        'containerd.io/gc.ref.snapshot.native/1': 'k2',
        'containerd.io/uncompressed': 'no',
      },
      (n) => out.push(n.replace(/\0/g, '|')),
    );
    expect(out.sort()).toEqual(['c|a', 'c|b', 'c|c', 's|native|k2', 's|overlayfs|k1']);
  });
});

describe('collectGarbage', () => {
  it('keeps an image graph (manifest → config/layers → snapshot chain) and removes the rest, children first', async () => {
    await seed('default', (tx) => {
      image(tx, 'default', 'img', dg(1));
      blob(tx, 'default', dg(1), { 'containerd.io/gc.ref.content.config': dg(2), 'containerd.io/gc.ref.content.l.0': dg(3) });
      blob(tx, 'default', dg(2), { 'containerd.io/gc.ref.snapshot.overlayfs': 'chain2' });
      blob(tx, 'default', dg(3), { 'containerd.io/uncompressed': dg(99) });
      blob(tx, 'default', dg(4)); // unreferenced
    });
    snaps.add('default', 'chain1');
    snaps.add('default', 'chain2', 'chain1');
    snaps.add('default', 'old1');
    snaps.add('default', 'old2', 'old1');
    snaps.add('default', 'old3', 'old2');
    content.disk.add(dg(50)); // on disk, in no namespace
    const stats = await gc();
    expect(await blobsIn('default')).toEqual([dg(1), dg(2), dg(3)]);
    expect([...content.disk].sort()).toEqual([dg(1), dg(2), dg(3)]);
    expect(snaps.keys('default')).toEqual(['chain1', 'chain2']);
    expect(snaps.removed).toEqual(['default/old3', 'default/old2', 'default/old1']);
    expect(stats).toMatchObject({ blobRecordsRemoved: 1, snapshotsRemoved: 3, blobFilesRemoved: 2 });
  });

  it('keeps what live leases hold (with references), drops expired leases and what only they held', async () => {
    await seed('default', (tx) => {
      lease(tx, 'default', 'live', { 'containerd.io/gc.expire': '2030-01-02T00:00:00Z' });
      lease(tx, 'default', 'forever');
      lease(tx, 'default', 'expired', { 'containerd.io/gc.expire': '2029-12-31T00:00:00Z' });
      tx.put(keys.leaseResource('default', 'live', 'content', dg(1)), '');
      tx.put(keys.leaseResource('default', 'forever', 'snapshots/overlayfs', 'active'), '');
      tx.put(keys.leaseResource('default', 'expired', 'content', dg(5)), '');
      tx.put(keys.leaseResource('default', 'expired', 'snapshots/overlayfs', 'gone'), '');
      blob(tx, 'default', dg(1), { 'containerd.io/gc.ref.content.m.0': dg(2) });
      blob(tx, 'default', dg(2));
      blob(tx, 'default', dg(5));
    });
    snaps.add('default', 'base');
    snaps.add('default', 'active', 'base');
    snaps.add('default', 'gone');
    const stats = await gc();
    expect(stats.leasesRemoved).toBe(1);
    expect(await blobsIn('default')).toEqual([dg(1), dg(2)]);
    expect(snaps.keys('default')).toEqual(['active', 'base']);
    const leases = await db.view(async (tx) => {
      const out: string[] = [];
      for await (const { key } of tx.list(['v1', 'default'])) if (key[2] === 'lease' || key[2] === 'leaseres') out.push(key.slice(2).join('|'));
      return out.sort();
    });
    expect(leases).toEqual(['lease|forever', 'lease|live', `leaseres|forever|snapshots/overlayfs|active`, `leaseres|live|content|${dg(1)}`].sort());
  });

  it('a flat lease holds its resources but not what they reference', async () => {
    await seed('default', (tx) => {
      lease(tx, 'default', 'flat', { 'containerd.io/gc.flat': 'true' });
      tx.put(keys.leaseResource('default', 'flat', 'content', dg(1)), '');
      blob(tx, 'default', dg(1), { 'containerd.io/gc.ref.content': dg(2) });
      blob(tx, 'default', dg(2));
    });
    await gc();
    expect(await blobsIn('default')).toEqual([dg(1)]);
  });

  it('gc.root blobs and snapshots survive with what they reference; containers hold their snapshot and image', async () => {
    await seed('default', (tx) => {
      blob(tx, 'default', dg(1), { 'containerd.io/gc.root': 'x', 'containerd.io/gc.ref.content': dg(2) });
      blob(tx, 'default', dg(2));
      blob(tx, 'default', dg(3)); // config referenced from a snapshot label
      image(tx, 'default', 'img', dg(4));
      blob(tx, 'default', dg(4));
      blob(tx, 'default', dg(6));
      tx.put(keys.container('default', 'c1'), {
        id: 'c1',
        image: 'img',
        snapshotter: 'overlayfs',
        snapshotKey: 'c1-rw',
        labels: { 'containerd.io/gc.ref.content.x': dg(6) },
      });
    });
    snaps.add('default', 'p');
    snaps.add('default', 'rooted', 'p', { 'containerd.io/gc.root': '2030-01-01T00:00:00Z', 'containerd.io/gc.ref.content.cfg': dg(3) });
    snaps.add('default', 'c1-rw', 'p');
    snaps.add('default', 'junk');
    await gc();
    expect(await blobsIn('default')).toEqual([dg(1), dg(2), dg(3), dg(4), dg(6)]);
    expect(snaps.keys('default')).toEqual(['c1-rw', 'p', 'rooted']);
  });

  it('namespaces are collected independently; a disk blob goes only when no namespace references it', async () => {
    await seed('a', (tx) => {
      image(tx, 'a', 'img', dg(1));
      blob(tx, 'a', dg(1));
    });
    await seed('b', (tx) => blob(tx, 'b', dg(1)));
    await gc();
    expect(await blobsIn('a')).toEqual([dg(1)]);
    expect(await blobsIn('b')).toEqual([]);
    expect(content.disk.has(dg(1))).toBe(true);
    await db.update(async (tx) => tx.del(keys.image('a', 'img')));
    await gc();
    expect(await blobsIn('a')).toEqual([]);
    expect(content.disk.has(dg(1))).toBe(false);
  });

  it('spares a snapshot that became reachable between the mark and the removal', async () => {
    await seed('default', () => undefined);
    snaps.add('default', 'doomed');
    snaps.add('default', 'junk');
    snaps.beforeList = (n) => {
      if (n === 2) snaps.add('default', 'doomed', undefined, { 'containerd.io/gc.root': 'now' });
    };
    await gc();
    expect(snaps.keys('default')).toEqual(['doomed']);
  });

  it('keeps an on-disk blob an open ingest expects (a writer committing by reference)', async () => {
    await seed('a', (tx) => {
      tx.put(keys.ingest('a', 'shared'), { expected: dg(7), lease: 'l' });
      lease(tx, 'a', 'l');
    });
    content.disk.add(dg(7));
    content.ingests.set('a/shared', NOW);
    await gc();
    expect(content.disk.has(dg(7))).toBe(true);
  });

  it('ingests: leased ones stay, unleased ones go when expired or gone', async () => {
    await seed('default', (tx) => {
      lease(tx, 'default', 'l');
      tx.put(keys.ingest('default', 'held-by-record'), { lease: 'l' });
      tx.put(keys.ingest('default', 'held-by-resource'), {});
      tx.put(keys.leaseResource('default', 'l', 'ingests', 'held-by-resource'), '');
      tx.put(keys.ingest('default', 'fresh'), {});
      tx.put(keys.ingest('default', 'stale'), {});
      tx.put(keys.ingest('default', 'vanished'), {});
      tx.put(keys.ingest('default', 'dead-lease'), { lease: 'nolonger' });
    });
    for (const r of ['held-by-record', 'held-by-resource', 'fresh']) content.ingests.set(`default/${r}`, new Date(NOW.getTime() - 1000));
    content.ingests.set('default/stale', new Date(NOW.getTime() - 2 * DAY));
    content.ingests.set('default/dead-lease', new Date(NOW.getTime() - 2 * DAY));
    const stats = await gc();
    const left = await db.view(async (tx) => {
      const out: string[] = [];
      for await (const { key } of tx.list(keys.ingests('default'))) out.push(key[3]!);
      return out.sort();
    });
    expect(left).toEqual(['fresh', 'held-by-record', 'held-by-resource']);
    expect(content.aborted.sort()).toEqual(['default/dead-lease', 'default/stale']);
    expect(stats.ingestsRemoved).toBe(3);
  });

  it('never deletes anything reachable (random graphs)', async () => {
    let seedN = 42;
    const rnd = (n: number) => {
      seedN = (seedN * 1103515245 + 12345) % 2147483648;
      return seedN % n;
    };
    for (let round = 0; round < 8; round++) {
      await db.update(async (tx) => tx.delPrefix(['v1']));
      content = new FakeContent();
      snaps = new FakeSnapshots();
      const N = 40;
      const edges = new Map<number, number[]>();
      const roots: number[] = [];
      await seed('default', (tx) => {
        for (let i = 0; i < N; i++) {
          const refs = Array.from({ length: rnd(3) }, () => rnd(N));
          edges.set(i, refs);
          const labels: Record<string, string> = {};
          refs.forEach((r, j) => (labels[`containerd.io/gc.ref.content.r.${j}`] = dg(r)));
          blob(tx, 'default', dg(i), labels);
        }
        for (let k = 0; k < 3; k++) {
          const r = rnd(N);
          roots.push(r);
          if (k === 0) image(tx, 'default', `img${round}`, dg(r));
          else if (k === 1) {
            lease(tx, 'default', `l${round}`);
            tx.put(keys.leaseResource('default', `l${round}`, 'content', dg(r)), '');
          } else
            blob(tx, 'default', dg(r), {
              'containerd.io/gc.root': 'x',
              ...Object.fromEntries((edges.get(r) ?? []).map((e, j) => [`containerd.io/gc.ref.content.r.${j}`, dg(e)])),
            });
        }
      });
      const reach = new Set<number>();
      const stack = [...roots];
      while (stack.length) {
        const n = stack.pop()!;
        if (reach.has(n)) continue;
        reach.add(n);
        stack.push(...(edges.get(n) ?? []));
      }
      await gc();
      expect(await blobsIn('default')).toEqual([...reach].map(dg).sort());
      expect([...content.disk].sort()).toEqual([...reach].map(dg).sort());
    }
  });
});

describe('GcScheduler', () => {
  it('serializes collections and coalesces queued ones; schedule() runs one later', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new GcScheduler(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        if (runs === 1) await gate;
        active--;
        return { namespaces: 0, blobRecordsRemoved: 0, leasesRemoved: 0, ingestsRemoved: 0, snapshotsRemoved: 0, blobFilesRemoved: 0, durationMs: 0 };
      },
      { delayMs: 1, log: nullLogger },
    );
    const a = s.collect();
    const b = s.collect();
    const c = s.collect();
    expect(b).toBe(c);
    release();
    await Promise.all([a, b, c]);
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
    const done = new Promise<void>((r) => {
      const check = () => (s.runs === 3 ? r() : setTimeout(check, 5));
      check();
    });
    s.schedule();
    s.schedule();
    await done;
    expect(runs).toBe(3);
    for (let i = 0; i < 99; i++) s.onMutation();
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toBe(3);
    s.onMutation();
    await new Promise<void>((r) => {
      const check = () => (s.runs === 4 ? r() : setTimeout(check, 5));
      check();
    });
    await s.close();
  });
});
