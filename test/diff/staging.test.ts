import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, chmod, lstat, mkdir, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { background } from '../../src/core/context';
import { nullLogger } from '../../src/core/logger';
import { notFound } from '../../src/core/errors';
import { LayerApplier, LayerStager, unpackTar, type UnpackTarget } from '../../src/diff';
import { markTopdir } from '../../src/diff/unpack';
import type { Provider } from '../../src/content/types';
import { buildTar, cleanup, itRoot, snapshot, tc, tempDir, UNPACK_BIN, xattrs, type TarEntry } from './util';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ctx = background('default');

async function until(cond: () => Promise<boolean>, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** LayerStager: layers extracted at commit, adopted by Diff.Apply only where that is exact. */
describe('LayerStager', () => {
  let dir: string;
  let stager: LayerStager | undefined;
  let blobs: Record<string, Buffer>;
  beforeEach(async () => {
    dir = await tempDir('berth-staging-');
    blobs = {};
  });
  afterEach(async () => {
    await stager?.close();
    stager = undefined;
    await cleanup(dir);
  });

  const stagingDir = () => join(dir, 'staging');
  const blobFile = (d: string) => join(dir, 'blobs', d.slice(7));
  async function blob(entries: TarEntry[]): Promise<{ digest: string; size: number; tar: Buffer }> {
    const tar = await buildTar(entries);
    const gz = gzipSync(tar);
    await mkdir(join(dir, 'blobs'), { recursive: true });
    await writeFile(blobFile(sha(gz)), gz);
    blobs[sha(gz)] = gz;
    return { digest: sha(gz), size: gz.length, tar };
  }
  async function open(opts: { ttlMs?: number; maxRunning?: number } = {}): Promise<LayerStager> {
    stager = await LayerStager.open(stagingDir(), { log: nullLogger, bin: UNPACK_BIN, ...opts });
    return stager;
  }
  /** Offers the blob and waits until its extraction finished (a staged tree with content or none). */
  async function staged(s: LayerStager, b: { digest: string; size: number }): Promise<void> {
    s.offer(b.digest, blobFile(b.digest), b.size);
    const job = (s as unknown as { jobs: Map<string, { result?: Promise<unknown> }> }).jobs.get(b.digest);
    await job?.result;
  }
  async function upper(name: string, lower?: string): Promise<UnpackTarget> {
    const u = join(dir, name);
    await mkdir(u, { recursive: true });
    return { kind: 'overlay', upper: u, lowers: lower ? [lower] : [] };
  }
  const applier = (s: LayerStager) => {
    const provider: Provider = {
      info: async (_c, d) => {
        if (!blobs[d]) throw notFound(`content ${d}: not found`);
        return { digest: d, size: blobs[d]!.length, createdAt: new Date(), updatedAt: new Date(), labels: {} };
      },
      // eslint-disable-next-line require-yield -- a stream that must never be read
      read: async function* () {
        throw new Error('unused');
      },
    };
    return new LayerApplier(provider, { tmpdir: join(dir, 'tmp'), bin: UNPACK_BIN, blobFile, stager: s });
  };

  itRoot('an overlay layer with its parents is adopted: same tree and diff_id as applying it, staging emptied', async () => {
    const lower = join(dir, 'lower');
    await mkdir(join(lower, 'etc'), { recursive: true });
    const b = await blob([
      tc.dir('etc'),
      tc.file('etc/conf', 'x'),
      tc.dir('bin'),
      tc.file('bin/sh', 'sh', 0o755),
      tc.link('bin/sh', 'bin/sh2'),
      tc.symlink('sh', 'bin/ln'),
      tc.file('etc/.wh.old', ''),
      tc.file('bin/.wh..wh..opq', ''),
    ]);
    const s = await open();
    await staged(s, b);
    const t = await upper('u1', lower);
    const r = await s.adopt(ctx, b.digest, t);
    expect(r).toMatchObject({ digest: sha(b.tar), size: b.tar.length });
    const direct = await upper('u2', lower);
    await unpackTar({ file: blobFile(b.digest) }, direct, { bin: UNPACK_BIN });
    // A whiteout device's mtime is its creation time (the archive does not carry one).
    const tree = async (p: string) => Object.fromEntries(Object.entries(await snapshot(p)).map(([k, v]) => [k, k === 'etc/old' ? { ...v, mtimeMs: 0 } : v]));
    expect(await tree(join(dir, 'u1'))).toEqual(await tree(join(dir, 'u2')));
    expect((await lstat(join(dir, 'u1/etc/old'))).isCharacterDevice()).toBe(true);
    expect(xattrs(join(dir, 'u1/bin'))['trusted.overlay.opaque']).toBe('y');
    expect((await lstat(join(dir, 'u1/bin/sh'))).ino).toBe((await lstat(join(dir, 'u1/bin/sh2'))).ino);
    expect(await readdir(stagingDir())).toEqual([]);
    expect(await s.adopt(ctx, b.digest, await upper('u3', lower))).toBeUndefined(); // claimed once
  });

  itRoot('implicit parents with lower dirs are not adopted: Apply copies the lower dir attributes', async () => {
    const lower = join(dir, 'lower');
    await mkdir(join(lower, 'etc'), { recursive: true });
    await chmod(join(lower, 'etc'), 0o700);
    const b = await blob([tc.file('etc/conf', 'x')]); // no `etc` entry
    const s = await open();
    await staged(s, b);
    const t = await upper('u', lower);
    const r = await applier(s).apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: b.digest, size: b.size }, [
      { type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${(t as { upper: string }).upper}`, `workdir=${join(dir, 'work')}`] },
    ]);
    expect(r.digest).toBe(sha(b.tar));
    expect((await lstat(join(dir, 'u/etc'))).mode & 0o7777).toBe(0o700);
    await until(async () => (await readdir(stagingDir())).length === 0);
  });

  itRoot('a first layer with whiteouts is not adopted into a plain root (they become deletions there)', async () => {
    const b = await blob([tc.dir('d'), tc.file('d/f', 'f'), tc.file('d/.wh.gone', '')]);
    const s = await open();
    await staged(s, b);
    const root = join(dir, 'plain');
    await mkdir(root);
    const r = await applier(s).apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: b.digest, size: b.size }, [
      { type: 'bind', source: root, options: ['rbind'] },
    ]);
    expect(r.digest).toBe(sha(b.tar));
    expect((await readdir(join(root, 'd'))).sort()).toEqual(['f']);
  });

  itRoot('a plain first layer without whiteouts is adopted', async () => {
    const b = await blob([tc.dir('d'), tc.file('d/f', 'f')]);
    const s = await open();
    await staged(s, b);
    const root = join(dir, 'plain');
    await mkdir(root);
    expect(await s.adopt(ctx, b.digest, { kind: 'plain', root })).toMatchObject({ digest: sha(b.tar) });
    expect(await readdir(join(root, 'd'))).toEqual(['f']);
  });

  itRoot('a layer with a root entry is adopted (the entry is ignored, as containerd ignores it): the target keeps its own mode', async () => {
    const withRoot = await blob([{ ...tc.dir('./'), mode: 0o711 }, tc.file('f', 'x')]);
    const s = await open();
    await staged(s, withRoot);
    const t = await upper('a');
    const u = join(dir, 'a');
    const before = (await stat(u)).mode;
    expect(before & 0o777).not.toBe(0o711);
    expect(await s.adopt(ctx, withRoot.digest, t)).toMatchObject({ digest: sha(withRoot.tar) });
    expect(await readdir(u)).toEqual(['f']);
    expect((await stat(u)).mode).toBe(before);
  });

  itRoot('a non-empty target or a mount target is not adopted, and the staged tree is dropped', async () => {
    const plain = await blob([tc.file('g', 'y')]);
    const s = await open();
    await staged(s, plain);
    const t = await upper('b');
    await writeFile(join(dir, 'b', 'already'), '');
    expect(await s.adopt(ctx, plain.digest, t)).toBeUndefined();
    expect(await readdir(join(dir, 'b'))).toEqual(['already']);
    await staged(s, plain);
    expect(await s.adopt(ctx, plain.digest, { kind: 'mount', type: 'tmpfs', source: 'tmpfs', options: [], tmpdir: dir })).toBeUndefined();
    await until(async () => (await readdir(stagingDir())).length === 0);
  });

  itRoot('a corrupt blob stages nothing; Apply then reports the real error', async () => {
    const b = await blob([tc.file('f', 'x'.repeat(10000))]);
    const gz = Buffer.from(blobs[b.digest]!);
    for (let i = 20; i < 60; i++) gz[i] ^= 0xff;
    await writeFile(blobFile(b.digest), gz);
    const s = await open();
    await staged(s, b);
    expect(await readdir(stagingDir())).toEqual([]);
    await expect(s.adopt(ctx, b.digest, await upper('u'))).resolves.toBeUndefined();
    await expect(
      applier(s).apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: b.digest, size: b.size }, [
        { type: 'bind', source: join(dir, 'u'), options: ['rbind'] },
      ]),
    ).rejects.toMatchObject({
      kind: 'InvalidArgument',
    });
  });

  itRoot('an unclaimed staged tree is removed after its TTL; a job not started yet is not waited for; close empties the dir', async () => {
    const b = await blob([tc.file('f', 'x')]);
    const s = await open({ ttlMs: 50 });
    await staged(s, b);
    await until(async () => (await readdir(stagingDir())).length === 0);
    const idle = await open({ maxRunning: 0 });
    idle.offer(b.digest, blobFile(b.digest), b.size);
    expect(await idle.adopt(ctx, b.digest, await upper('u'))).toBeUndefined();
    await s.close();
    const s2 = await open();
    s2.offer(b.digest, blobFile(b.digest), b.size);
    await s2.close();
    await expect(readdir(stagingDir())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  itRoot('an ingest is extracted while it is written (--follow), and adopted once its bytes hash to the digest', async () => {
    const b = await blob([tc.dir('d'), tc.file('d/big', Buffer.alloc(3 << 20, 'q'))]);
    const gz = blobs[b.digest]!;
    const ingest = join(dir, 'ingest-data');
    await writeFile(ingest, gz.subarray(0, 1000));
    const s = await open();
    s.offerIngest(b.digest, ingest, gz.length);
    for (let off = 1000; off < gz.length; off += 700) {
      await new Promise((r) => setTimeout(r, 2));
      await appendFile(ingest, gz.subarray(off, off + 700));
    }
    const r = await s.adopt(ctx, b.digest, await upper('u'));
    expect(r).toMatchObject({ digest: sha(b.tar), inputDigest: b.digest });
    expect((await lstat(join(dir, 'u/d/big'))).size).toBe(3 << 20);
  });

  itRoot('an ingest that is not the layer, or that is aborted, is never adopted', async () => {
    const b = await blob([tc.file('f', 'x'.repeat(5000))]);
    const other = gzipSync(await buildTar([tc.file('f', 'y'.repeat(5000))]));
    const s = await open();
    const wrong = join(dir, 'wrong-data');
    await writeFile(wrong, other.subarray(0, 50));
    s.offerIngest(b.digest, wrong, other.length);
    await appendFile(wrong, other.subarray(50));
    expect(await s.adopt(ctx, b.digest, await upper('u1'))).toBeUndefined();
    expect(await readdir(join(dir, 'u1'))).toEqual([]);
    const aborted = join(dir, 'aborted-data');
    await writeFile(aborted, blobs[b.digest]!.subarray(0, 20));
    s.offerIngest(b.digest, aborted, b.size);
    await new Promise((r) => setTimeout(r, 50));
    await unlink(aborted);
    expect(await s.adopt(ctx, b.digest, await upper('u2'))).toBeUndefined();
    // A failed ingest job is forgotten at once: the commit can still stage the blob.
    await staged(s, b);
    expect(await s.adopt(ctx, b.digest, await upper('u3'))).toMatchObject({ digest: sha(b.tar) });
  });

  itRoot('an ingest renamed away before it was read falls back to the committed blob', async () => {
    const b = await blob([tc.file('f', 'z'.repeat(5000))]);
    const s = await open({ maxRunning: 0 });
    s.offerIngest(b.digest, join(dir, 'gone-before-open'), b.size);
    s.offer(b.digest, blobFile(b.digest), b.size); // committed before the job started: use the blob
    expect((s as unknown as { jobs: Map<string, { growing: boolean; file: string }> }).jobs.get(b.digest)).toMatchObject({
      growing: false,
      file: blobFile(b.digest),
    });
    expect(await s.adopt(ctx, b.digest, await upper('u0'))).toBeUndefined(); // never started: not waited for
    const s2 = await open();
    s2.offerIngest(b.digest, join(dir, 'gone-while-open'), b.size); // started, fails (no such file)
    s2.offer(b.digest, blobFile(b.digest), b.size);
    await until(async () => {
      const j = (s2 as unknown as { jobs: Map<string, { growing: boolean; result?: Promise<unknown> }> }).jobs.get(b.digest);
      return j !== undefined && !j.growing && (await j.result) !== undefined;
    });
    expect(await s2.adopt(ctx, b.digest, await upper('u1'))).toMatchObject({ digest: sha(b.tar) });
  });

  itRoot('the staging dir is marked as a top of directory hierarchies where the filesystem has the flag (ext4 +T)', async () => {
    await open();
    const probe = join(dir, 'probe');
    await mkdir(probe);
    const supported = await markTopdir(probe, UNPACK_BIN);
    const lsattr = spawnSync('lsattr', ['-d', stagingDir()], { encoding: 'utf8' });
    if (lsattr.error || lsattr.status !== 0) return; // no lsattr, or a filesystem without flags
    expect(lsattr.stdout.split(' ')[0]!.includes('T')).toBe(supported);
  });

  itRoot(
    'Apply does not wait long for an ingest job that follows an abandoned ingest',
    async () => {
      const b = await blob([tc.file('f', 'w'.repeat(5000))]);
      const abandoned = join(dir, 'abandoned-data');
      await writeFile(abandoned, blobs[b.digest]!.subarray(0, 30)); // never completed
      const s = await open();
      s.offerIngest(b.digest, abandoned, b.size);
      s.offer(b.digest, blobFile(b.digest), b.size); // another writer committed the blob
      const t0 = Date.now();
      expect(await s.adopt(ctx, b.digest, await upper('u'))).toBeUndefined();
      expect(Date.now() - t0).toBeLessThan(5000); // the C side alone would wait 10 s for growth
    },
    20000,
  );
});
