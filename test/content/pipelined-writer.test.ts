import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalContentStore } from '../../src/content/local-store';
import { ingestDir } from '../../src/content/paths';
import { sha256Of } from '../../src/core/digest';

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('LocalWriter pipelining', () => {
  let root: string;
  let s: LocalContentStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-pipe-'));
    s = await LocalContentStore.open(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes issued without waiting land in order; each resolves with the digest as of its chunk', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => pattern(1000 + i * 4099, i));
    const w = await s.writer({ ref: 'p1' });
    const promises = chunks.map((c) => w.write(c));
    const digests = await Promise.all(promises);
    for (let i = 0; i < chunks.length; i++) expect(digests[i]).toBe(sha256Of(Buffer.concat(chunks.slice(0, i + 1))));
    const all = Buffer.concat(chunks);
    expect(w.status().offset).toBe(all.length);
    expect(await w.commit(all.length, sha256Of(all))).toBe(sha256Of(all));
  });

  it('append + flushed: pieces queue without a promise each; close writes what was queued, resume continues at the file size', async () => {
    const data = pattern(3 * 1024 * 1024 + 17, 5);
    const w = await s.writer({ ref: 'p2' });
    for (let o = 0; o < 2 * 1024 * 1024; o += 16384) w.append(data.subarray(o, o + 16384));
    expect(await w.flushed()).toBe(sha256Of(data.subarray(0, 2 * 1024 * 1024)));
    // Pieces below the batch size, never flushed(): close must still write them.
    for (let o = 2 * 1024 * 1024; o < 2 * 1024 * 1024 + 100000; o += 10000) w.append(data.subarray(o, Math.min(o + 10000, 2 * 1024 * 1024 + 100000)));
    await w.close();
    expect((await stat(join(ingestDir(root, 'p2'), 'data'))).size).toBe(2 * 1024 * 1024 + 100000);
    const r = await s.writer({ ref: 'p2' });
    expect(r.status().offset).toBe(2 * 1024 * 1024 + 100000);
    await r.write(data.subarray(2 * 1024 * 1024 + 100000));
    expect(await r.commit(data.length, sha256Of(data))).toBe(sha256Of(data));
  });

  it('commit and truncate wait for queued writes; a closed writer refuses appends', async () => {
    const w = await s.writer({ ref: 'p3' });
    void w.write(pattern(500000, 1));
    await w.truncate(0);
    expect((await stat(join(ingestDir(root, 'p3'), 'data'))).size).toBe(0);
    const b = pattern(700000, 2);
    void w.write(b);
    expect(await w.commit(b.length)).toBe(sha256Of(b));
    expect(() => w.append(Buffer.from('x'))).toThrow(/closed/);
  });
});
