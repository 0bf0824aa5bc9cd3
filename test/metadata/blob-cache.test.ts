import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { blobPath } from '../../src/content/paths';
import { background } from '../../src/core/context';
import type { Digest } from '../../src/core/digest';
import { BlobCache } from '../../src/metadata/blob-cache';
import { NamespacedContentStore } from '../../src/metadata/content';
import { openNamespacedStore, type NamespacedStoreFixture } from '../helpers/content-store';

describe('BlobCache', () => {
  it('keeps small blobs up to its byte budget, least recently used out first', () => {
    const c = new BlobCache(4, 10);
    const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}` as Digest;
    c.set(d(1), Buffer.from('aaaa'));
    c.set(d(2), Buffer.from('bbbb'));
    c.set(d(3), Buffer.from('too big'));
    expect(c.get(d(3))).toBeUndefined();
    expect(c.get(d(1))?.toString()).toBe('aaaa'); // 1 is now the most recent
    c.set(d(4), Buffer.from('cccc')); // 12 bytes > 10: 2 goes
    expect(c.get(d(2))).toBeUndefined();
    expect(c.get(d(1))?.toString()).toBe('aaaa');
    expect(c.size).toBe(2);
  });
});

describe('NamespacedContentStore reads small blobs from memory', () => {
  let fx: NamespacedStoreFixture;
  let store: NamespacedContentStore;
  const a = background('a');
  const b = background('b');
  beforeEach(async () => {
    fx = await openNamespacedStore('berth-blobcache-');
    ({ store } = fx);
  });
  afterEach(() => fx.close());

  const read = async (ctx = a, d: Digest, opts = {}) => {
    const out: Buffer[] = [];
    for await (const c of store.read(ctx, d, opts)) out.push(c);
    return Buffer.concat(out).toString();
  };

  it('serves the same ranges as the disk store, keeps serving once read, and still checks the namespace', async () => {
    const w = await store.writer(a, { ref: 'r' });
    await w.write(Buffer.from('0123456789'));
    const d = await w.commit(10);
    expect(await read(a, d)).toBe('0123456789');
    expect(await read(a, d, { offset: 3 })).toBe('3456789');
    expect(await read(a, d, { offset: 3, size: 4 })).toBe('3456');
    expect(await read(a, d, { offset: 8, size: 100 })).toBe('89');
    expect(await read(a, d, { offset: 10 })).toBe('');
    expect(await read(a, d, { offset: 50 })).toBe('');
    await expect(read(a, d, { offset: -1 })).rejects.toMatchObject({ kind: 'InvalidArgument' });
    // The blob file is gone (only GC removes it, after the records): the bytes come from memory.
    await rm(blobPath(join(fx.dir, 'content'), d));
    expect(await read(a, d, { offset: 2, size: 2 })).toBe('23');
    // Another namespace without a record for it still sees nothing.
    await expect(read(b, d)).rejects.toMatchObject({ kind: 'NotFound' });
    // A caller may scribble on what it got.
    for await (const c of store.read(a, d)) c.fill(0);
    expect(await read(a, d)).toBe('0123456789');
  });
});
