import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataDB } from '../../src/metadata/db';
import { Mirror } from '../../src/metadata/mirror';

async function collect<T>(it: AsyncIterable<{ key: string[]; value: T }>) {
  const out: Array<[string, T]> = [];
  for await (const e of it) out.push([e.key.join('/'), e.value]);
  return out;
}

describe('Mirror', () => {
  it('keeps keys sorted through puts and deletes and selects a prefix', () => {
    const m = new Mirror();
    m.load([
      ['a\x00b', '1'],
      ['a\x00a', '2'],
    ]);
    m.apply([
      { type: 'put', key: 'a\x00c', value: '3' },
      { type: 'put', key: 'a', value: '0' },
      { type: 'put', key: 'ab\x00x', value: '9' },
      { type: 'del', key: 'a\x00b' },
      { type: 'del', key: 'missing' },
      { type: 'put', key: 'a\x00a', value: '22' },
    ]);
    expect(m.range('a\x00')).toEqual([
      ['a\x00a', '22'],
      ['a\x00c', '3'],
    ]);
    expect(m.range('ab\x00')).toEqual([['ab\x00x', '9']]);
    expect(m.get('a\x00b')).toBeUndefined();
    expect(m.size).toBe(4);
  });
});

describe('MetadataDB reads from its mirror', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-mirror-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sees committed writes at once, keeps a list a snapshot, and reloads them after reopen', async () => {
    let db = await MetadataDB.open(join(dir, 'meta'));
    await db.update(async (tx) => {
      tx.put(['v1', 'ns', 'image', 'b'], { n: 2 });
      tx.put(['v1', 'ns', 'image', 'a'], { n: 1 });
      tx.put(['v1', 'ns', 'imagex'], { n: 0 });
    });
    expect(await db.view((tx) => tx.get(['v1', 'ns', 'image', 'a']))).toEqual({ n: 1 });

    // A list started before a commit keeps what it saw at its first step.
    const it = db.view(async (tx) => tx.list<{ n: number }>(['v1', 'ns', 'image']))!;
    const iter = (await it)[Symbol.asyncIterator]();
    const first = await iter.next();
    await db.update(async (tx) => {
      tx.del(['v1', 'ns', 'image', 'b']);
      tx.put(['v1', 'ns', 'image', 'c'], { n: 3 });
    });
    const second = await iter.next();
    expect([first.value?.key.join('/'), second.value?.key.join('/')]).toEqual(['v1/ns/image/a', 'v1/ns/image/b']);
    expect((await iter.next()).done).toBe(true);

    expect(await db.view((tx) => collect(tx.list(['v1', 'ns', 'image'])))).toEqual([
      ['v1/ns/image/a', { n: 1 }],
      ['v1/ns/image/c', { n: 3 }],
    ]);
    // A failed batch changes nothing (the mirror follows LevelDB, not the attempt).
    await expect(
      db.update(async (tx) => {
        tx.put(['v1', 'ns', 'image', 'd'], { n: 4 });
        throw new Error('validation failed');
      }),
    ).rejects.toThrow('validation failed');
    expect(await db.view((tx) => tx.has(['v1', 'ns', 'image', 'd']))).toBe(false);

    await db.update(async (tx) => tx.delPrefix(['v1', 'ns', 'image']));
    expect(await db.view((tx) => collect(tx.list(['v1', 'ns', 'image'])))).toEqual([]);
    expect(await db.view((tx) => tx.get(['v1', 'ns', 'imagex']))).toEqual({ n: 0 });
    await db.update(async (tx) => tx.put(['v1', 'ns', 'image', 'z'], { n: 26 }));
    await db.close();

    db = await MetadataDB.open(join(dir, 'meta'));
    expect(await db.view((tx) => collect(tx.list(['v1', 'ns'])))).toEqual([
      ['v1/ns/image/z', { n: 26 }],
      ['v1/ns/imagex', { n: 0 }],
    ]);
    await db.close();
  });
});
