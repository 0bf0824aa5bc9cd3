import { statSync } from 'node:fs';
import { type FileHandle, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalContentStore } from '../../src/content/local-store';
import { blobPath, ingestDir } from '../../src/content/paths';
import { APPEND_BATCH_BYTES, SYNC_BACKOFF_MS, SYNC_WRITE_MAX_MS } from '../../src/content/writer';
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
    await w.flushed();
    expect(w.digest()).toBe(sha256Of(data.subarray(0, 2 * 1024 * 1024)));
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

  it('streamed pieces are in the file when flushed resolves, in the same turn: no thread-pool round trip before the reply', async () => {
    const w = await s.writer({ ref: 'p4' });
    const file = join(ingestDir(root, 'p4'), 'data');
    const a = pattern(1024 * 1024 + 5, 3);
    // One "socket read" per turn: its pieces go out in one writev when the turn's microtasks run.
    for (let o = 0; o < a.length; o += 65536) {
      for (let p = o; p < Math.min(o + 65536, a.length); p += 16384) w.append(a.subarray(p, Math.min(p + 16384, o + 65536, a.length)));
      await Promise.resolve();
      expect(statSync(file).size).toBe(Math.min(o + 65536, a.length));
    }
    const more = pattern(40000, 4);
    w.append(more);
    let settled = false;
    void w.flushed().then(() => (settled = true));
    expect(statSync(file).size).toBe(a.length + more.length);
    await Promise.resolve();
    expect(settled).toBe(true);
    const all = Buffer.concat([a, more]);
    expect(await w.commit(all.length, sha256Of(all))).toBe(sha256Of(all));
    expect((await stat(blobPath(root, sha256Of(all)))).size).toBe(all.length);
  });

  it('a chunk that starts in the iteration where the last ended (a pipelining client) is written by the thread pool; a later one on the loop again', async () => {
    const w = await s.writer({ ref: 'p7' });
    const file = join(ingestDir(root, 'p7'), 'data');
    const one = pattern(100000, 1);
    const two = pattern(100000, 2);
    const three = pattern(100000, 3);
    w.append(one);
    const f1 = w.flushed();
    expect(statSync(file).size).toBe(one.length);
    // Same iteration: the client sent the next chunk without waiting for our reply.
    w.append(two);
    await Promise.resolve();
    expect(statSync(file).size).toBe(one.length);
    await f1;
    await w.flushed();
    expect(statSync(file).size).toBe(one.length + two.length);
    // A later iteration (after the check phase): a ping-pong client's next chunk, written at once.
    await new Promise((r) => setImmediate(r));
    w.append(three);
    await Promise.resolve();
    expect(statSync(file).size).toBe(one.length + two.length + three.length);
    await w.flushed();
    const all = Buffer.concat([one, two, three]);
    expect(await w.commit(all.length, sha256Of(all))).toBe(sha256Of(all));
  });

  it('a slow write on the loop sends the next chunks to the thread pool for SYNC_BACKOFF_MS, then the loop writes again', async () => {
    const w = await s.writer({ ref: 'p8' });
    const file = join(ingestDir(root, 'p8'), 'data');
    const piece = pattern(50000, 1);
    let now = 1000;
    // Each call advances the clock by SYNC_WRITE_MAX_MS + 1: every timed write looks slow.
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => (now += SYNC_WRITE_MAX_MS + 1));
    try {
      w.append(piece);
      await w.flushed();
      expect(statSync(file).size).toBe(piece.length);
      // Within the backoff: the next chunk (a later iteration, so ping-pong) waits for the pool.
      await new Promise((r) => setImmediate(r));
      w.append(piece);
      await Promise.resolve();
      expect(statSync(file).size).toBe(piece.length);
      await w.flushed();
      expect(statSync(file).size).toBe(2 * piece.length);
      // After the backoff, chunks are written on the loop again (now with fast writes).
      clock.mockImplementation(() => now);
      now += SYNC_BACKOFF_MS + 1;
      await new Promise((r) => setImmediate(r));
      w.append(piece);
      await Promise.resolve();
      expect(statSync(file).size).toBe(3 * piece.length);
      await w.flushed();
    } finally {
      clock.mockRestore();
    }
    const all = Buffer.concat([piece, piece, piece]);
    expect(await w.commit(all.length, sha256Of(all))).toBe(sha256Of(all));
  });

  it('deferred hashing: digest, a plain write and truncate each see exactly the bytes before them', async () => {
    const w = await s.writer({ ref: 'p5' });
    const a = pattern(300000, 7);
    for (let o = 0; o < a.length; o += 7000) w.append(a.subarray(o, o + 7000));
    await w.flushed();
    // Asked before the deferred slices ran: digest() hashes what is pending first.
    expect(w.digest()).toBe(sha256Of(a));
    const b = pattern(50000, 8);
    for (let o = 0; o < b.length; o += 5000) w.append(b.subarray(o, o + 5000));
    const c = pattern(12345, 9);
    // A plain write right after unflushed, unhashed pieces keeps the stream's order in the hash.
    expect(await w.write(c)).toBe(sha256Of(Buffer.concat([a, b, c])));
    // Pieces appended and then truncated away never reach the hash.
    for (let o = 0; o < b.length; o += 5000) w.append(b.subarray(o, o + 5000));
    void w.flushed();
    await w.truncate(0);
    for (let o = 0; o < a.length; o += 7000) w.append(a.subarray(o, o + 7000));
    await w.flushed();
    // Let the deferred slices run on their own before asking.
    await new Promise((r) => setTimeout(r, 20));
    expect(await w.commit(a.length, sha256Of(a))).toBe(sha256Of(a));
  });

  it('a failed write rejects the next flushed and fails commit', async () => {
    const w = await s.writer({ ref: 'p6' });
    // A handle whose writes fail with EBADF, on the event loop (fd -1) and in the pool alike.
    const inner = w as unknown as { s: { fh: FileHandle } };
    const real = inner.s.fh;
    const ebadf = () => Promise.reject(Object.assign(new Error('EBADF: bad file descriptor, write'), { code: 'EBADF' }));
    inner.s.fh = { fd: -1, write: ebadf, writev: ebadf, close: () => real.close() } as unknown as FileHandle;
    const d = pattern(APPEND_BATCH_BYTES + 1, 1);
    w.append(d);
    await w.flushed().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
    await expect(w.flushed()).rejects.toThrow();
    await expect(w.commit(d.length)).rejects.toThrow();
  });
});
