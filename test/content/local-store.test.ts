import { mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalContentStore } from '../../src/content/local-store';
import { ingestDir } from '../../src/content/paths';
import { sha256Of } from '../../src/core/digest';
import { errorKind } from '../../src/core/errors';

async function collectAll(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('LocalContentStore', () => {
  let root: string;
  let s: LocalContentStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-local-'));
    s = await LocalContentStore.open(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes, commits a read-only blob and reads it back in ≤1 MiB chunks', async () => {
    const data = Buffer.alloc(2.5 * 1024 * 1024, 7);
    const w = await s.writer({ ref: 'r1' });
    await w.write(data.subarray(0, 1000));
    await w.write(data.subarray(1000));
    const d = await w.commit(data.length, sha256Of(data));
    expect(d).toBe(sha256Of(data));
    const st = await stat(join(root, 'blobs', 'sha256', d.slice(7)));
    expect(st.mode & 0o777).toBe(0o444);
    expect(await readdir(join(root, 'ingest'))).toEqual([]);
    const chunks: number[] = [];
    for await (const c of s.read(d)) chunks.push(c.length);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(1 << 20);
    expect((await collectAll(s.read(d))).equals(data)).toBe(true);
    expect((await collectAll(s.read(d, { offset: 10, size: 5 }))).equals(data.subarray(10, 15))).toBe(true);
    expect(s.isLocked('r1')).toBe(false);
  });

  it('resumes an ingest at its offset with the running digest recomputed', async () => {
    const data = Buffer.from('hello resumable world');
    const w = await s.writer({ ref: 'res', total: data.length });
    await w.write(data.subarray(0, 5));
    await w.close();
    expect((await s.status('res')).offset).toBe(5);
    const w2 = await s.writer({ ref: 'res' });
    expect(w2.status().offset).toBe(5);
    expect(w2.status().total).toBe(data.length);
    expect(w2.digest()).toBe(sha256Of(data.subarray(0, 5)));
    await w2.write(data.subarray(5));
    expect(await w2.commit(data.length, sha256Of(data))).toBe(sha256Of(data));
  });

  it('locks a ref: a second writer gets Unavailable until the first closes', async () => {
    const w = await s.writer({ ref: 'locked' });
    await expect(s.writer({ ref: 'locked' })).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringMatching(/ref locked locked for \d+s/) });
    await w.close();
    const w2 = await s.writer({ ref: 'locked' });
    await w2.close();
  });

  it('keeps the ref locked through commit until its ingest dir is gone: a writer taking the ref meanwhile starts a fresh, intact ingest', async () => {
    for (let round = 0; round < 5; round++) {
      const data = Buffer.alloc(4 << 20, round + 1);
      const ref = `race-${round}`;
      const w = await s.writer({ ref });
      await w.write(data);
      const commit = w.commit(data.length);
      let next: Awaited<ReturnType<typeof s.writer>> | undefined;
      while (!next) {
        try {
          next = await s.writer({ ref });
        } catch (e) {
          expect(errorKind(e)).toBe('Unavailable'); // never NotFound: the dir is not removed under a new writer
          await new Promise((r) => setImmediate(r));
        }
      }
      expect(await commit).toBe(sha256Of(data));
      expect((await next.status()).offset).toBe(0);
      const other = Buffer.from(`after ${round}`);
      await next.write(other);
      expect(await next.commit(other.length, sha256Of(other))).toBe(sha256Of(other));
    }
  });

  it('refuses a wrong size or digest (FailedPrecondition) and an existing blob (AlreadyExists)', async () => {
    const data = Buffer.from('abc');
    let w = await s.writer({ ref: 'x' });
    await w.write(data);
    await expect(w.commit(4)).rejects.toMatchObject({ kind: 'FailedPrecondition' });
    w = await s.writer({ ref: 'x' });
    await expect(w.commit(3, sha256Of('abd'))).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringContaining('unexpected commit digest'),
    });
    w = await s.writer({ ref: 'x' });
    expect(await w.commit(3, sha256Of(data))).toBe(sha256Of(data));
    const w2 = await s.writer({ ref: 'y' });
    await w2.write(data);
    const err = await w2.commit(3).catch((e) => e);
    expect(errorKind(err)).toBe('AlreadyExists');
    await expect(s.status('y')).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('hashes refs into fixed-length dir names: path-like refs stay inside ingest/', async () => {
    const w = await s.writer({ ref: '../../escape' });
    await w.write(Buffer.from('z'));
    await w.close();
    const names = await readdir(join(root, 'ingest'));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^[a-f0-9]{64}$/);
    expect((await s.listStatuses()).map((x) => x.ref)).toEqual(['../../escape']);
    await s.abort('../../escape');
    await expect(s.abort('../../escape')).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('truncate(0) restarts the ingest', async () => {
    const w = await s.writer({ ref: 't' });
    await w.write(Buffer.from('garbage'));
    await w.truncate(0);
    await w.write(Buffer.from('ok'));
    expect(await w.commit(2)).toBe(sha256Of('ok'));
  });

  it('removes stale ingests at open', async () => {
    const w = await s.writer({ ref: 'old' });
    await w.write(Buffer.from('q'));
    await w.close();
    const dir = ingestDir(root, 'old');
    const past = new Date(Date.now() - 3 * 3600_000);
    await utimes(join(dir, 'data'), past, past);
    await LocalContentStore.open(root, { ingestExpiryMs: 3600_000 });
    await expect(s.status('old')).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('lists blobs on disk and deletes them', async () => {
    const w = await s.writer({ ref: 'l' });
    await w.write(Buffer.from('blob'));
    const d = await w.commit(0);
    const all: string[] = [];
    for await (const b of s.listBlobs()) all.push(b);
    expect(all).toEqual([d]);
    await s.deleteBlob(d);
    expect(await s.has(d)).toBe(false);
    await expect(s.info(d)).rejects.toMatchObject({ kind: 'NotFound' });
  });
});
