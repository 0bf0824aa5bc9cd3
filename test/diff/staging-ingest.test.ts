/**
 * Layer staging fed by the real content store (NamespacedContentStore.observe → stagingObserver,
 * as berthd wires it): an ingest followed without hashing counts only as what its own writer
 * committed, never after a truncate, another writer's commit, or from another file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { blobPath } from '../../src/content/paths';
import { background } from '../../src/core/context';
import { nullLogger } from '../../src/core/logger';
import { LayerApplier, LayerStager, stagingObserver, type UnpackResult } from '../../src/diff';
import { openNamespacedStore, type NamespacedStoreFixture } from '../helpers/content-store';
import { buildTar, itRoot, tc, UNPACK_BIN } from './util';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ctx = background('default');
const GZ = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** A gzip layer holding `f` (and `d/g`) filled with `fill`; level 0 makes equal-sized twins. */
async function layer(fill: string, level = 0) {
  const tar = await buildTar([tc.file('f', fill.repeat(200_000)), tc.dir('d'), tc.file('d/g', fill)]);
  const gz = gzipSync(tar, { level });
  return { tar, gz, digest: sha(gz), size: gz.length };
}

describe('LayerStager with the content store', () => {
  let fx: NamespacedStoreFixture;
  let stager: LayerStager;
  let off: () => void;
  let n = 0;
  beforeEach(async () => {
    fx = await openNamespacedStore('berth-staging-ingest-');
    stager = await LayerStager.open(join(fx.dir, 'staging'), { log: nullLogger, bin: UNPACK_BIN });
    off = fx.store.observe(stagingObserver(stager, join(fx.dir, 'content')));
  });
  afterEach(async () => {
    off();
    await stager.close();
    await fx.close();
  });

  const target = async () => {
    const upper = join(fx.dir, `upper-${++n}`);
    await mkdir(upper);
    return { kind: 'overlay' as const, upper };
  };
  /** The staging job of `digest` has read its whole input (staged something or failed). */
  const jobDone = async (digest: string) => {
    const job = (stager as unknown as { jobs: Map<string, { result?: Promise<UnpackResult | undefined> }> }).jobs.get(digest);
    expect(job?.result).toBeDefined();
    return job!.result;
  };
  /** The berth-unpack child this process runs (the one staging job). */
  const unpackChild = async (): Promise<number> => {
    for (let i = 0; i < 200; i++) {
      for (const d of await readdir('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        const st = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
        const close = st.lastIndexOf(')');
        if (st.slice(st.indexOf('(') + 1, close) === 'berth-unpack' && Number(st.slice(close + 2).split(' ')[1]) === process.pid) return Number(d);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no berth-unpack child');
  };
  const writeAll = async (w: { write(b: Buffer): Promise<unknown> }, b: Buffer) => {
    for (let o = 0; o < b.length; o += 64 << 10) {
      await w.write(b.subarray(o, o + (64 << 10)));
      if (o % (256 << 10) === 0) await new Promise((r) => setTimeout(r, 2));
    }
  };
  const applier = () =>
    new LayerApplier(fx.store, { tmpdir: join(fx.dir, 'tmp'), bin: UNPACK_BIN, blobFile: (d) => blobPath(join(fx.dir, 'content'), d), stager });

  itRoot('an ingest is extracted as it is written, unhashed, and adopted once its writer committed it', async () => {
    const l = await layer('a', 6);
    const w = await fx.store.writer(ctx, { ref: `layer-${l.digest}`, expected: l.digest, total: l.size });
    await writeAll(w, l.gz);
    await w.commit(l.size, l.digest);
    const t = await target();
    const r = await stager.adopt(ctx, l.digest, t);
    // No input digest: the writer's hash vouched for the bytes; the file read was the blob's.
    expect(r).toMatchObject({ digest: sha(l.tar), size: l.tar.length, inputDigest: '', inputSize: l.size });
    const st = await stat(blobPath(join(fx.dir, 'content'), l.digest), { bigint: true });
    expect(r!.inputFile).toBe(`${st.dev}:${st.ino}`);
    expect(await readFile(join(t.upper, 'd/g'), 'utf8')).toBe('a');
  });

  itRoot('bytes read before a truncate are never adopted: Apply extracts the committed blob', async () => {
    const good = await layer('a');
    const bad = await layer('b');
    expect(bad.size).toBe(good.size);
    const w = await fx.store.writer(ctx, { ref: `layer-${good.digest}`, expected: good.digest, total: good.size });
    await writeAll(w, bad.gz);
    expect(await jobDone(good.digest)).toMatchObject({ digest: sha(bad.tar) }); // staged the wrong tree
    await w.truncate(0);
    await writeAll(w, good.gz);
    await w.commit(good.size, good.digest);
    const t = await target();
    const applied = await applier().apply(ctx, { mediaType: GZ, digest: good.digest, size: good.size }, [
      { type: 'bind', source: t.upper, options: ['rbind'] },
    ]);
    expect(applied.digest).toBe(sha(good.tar));
    expect(await readFile(join(t.upper, 'd/g'), 'utf8')).toBe('a');
  });

  itRoot('bytes of an aborted ingest are never adopted: its staged tree goes with the abort, and the next writer’s bytes are staged and adopted', async () => {
    const good = await layer('a');
    const bad = await layer('b');
    const ref = `layer-${good.digest}`;
    const w1 = await fx.store.writer(ctx, { ref, expected: good.digest, total: good.size });
    await writeAll(w1, bad.gz);
    expect(await jobDone(good.digest)).toMatchObject({ digest: sha(bad.tar) });
    await w1.close();
    const staged = await readdir(join(fx.dir, 'staging'));
    expect(staged.length).toBe(1);
    await fx.store.abort(ctx, ref);
    const w2 = await fx.store.writer(ctx, { ref, expected: good.digest, total: good.size });
    await writeAll(w2, good.gz);
    await w2.commit(good.size, good.digest);
    const t = await target();
    expect(await stager.adopt(ctx, good.digest, t)).toMatchObject({ digest: sha(good.tar) });
    expect(await readFile(join(t.upper, 'd/g'), 'utf8')).toBe('a');
    // The aborted ingest's tree is gone.
    expect(await readdir(join(fx.dir, 'staging'))).not.toContain(staged[0]);
  });

  itRoot('a job that read another file than its writer’s is not adopted', async () => {
    const l = await layer('c');
    const file = join(fx.dir, 'data');
    await writeFile(file, l.gz);
    const st = await stat(file, { bigint: true });
    stager.offerIngest(l.digest, file, l.size, { session: 1e9, fileId: `${st.dev}:${st.ino + 1n}` });
    await jobDone(l.digest);
    stager.offer(l.digest, file, l.size, { session: 1e9, rewritten: false });
    expect(await stager.adopt(ctx, l.digest, await target())).toBeUndefined();
    // The same with the right file is adopted (the ids agree between Node and berth-unpack).
    const l2 = await layer('d');
    await writeFile(file, l2.gz);
    stager.offerIngest(l2.digest, file, l2.size, { session: 1e9 + 1, fileId: `${st.dev}:${st.ino}` });
    await jobDone(l2.digest);
    stager.offer(l2.digest, file, l2.size, { session: 1e9 + 1, rewritten: false });
    expect(await stager.adopt(ctx, l2.digest, await target())).toMatchObject({ digest: sha(l2.tar), inputDigest: '' });
  });

  itRoot(
    'a job following the writer that committed is waited for however long it takes (a loaded machine): it is adopted, not extracted again',
    async () => {
      const l = await layer('e');
      const w = await fx.store.writer(ctx, { ref: `layer-${l.digest}`, expected: l.digest, total: l.size });
      const cut = l.size - 1000;
      await writeAll(w, l.gz.subarray(0, cut));
      // The extraction is stopped before the last bytes (SIGSTOP): it cannot finish within the
      // bounded wait meant for jobs following an abandoned ingest (~2 s for this size).
      const pid = await unpackChild();
      process.kill(pid, 'SIGSTOP');
      let resumed = false;
      const cont = setTimeout(() => {
        resumed = true;
        process.kill(pid, 'SIGCONT');
      }, 3000);
      try {
        await writeAll(w, l.gz.subarray(cut));
        await w.commit(l.size, l.digest);
        const t = await target();
        expect(await stager.adopt(ctx, l.digest, t)).toMatchObject({ digest: sha(l.tar), inputDigest: '' });
        expect(resumed).toBe(true);
        expect(await readFile(join(t.upper, 'd/g'), 'utf8')).toBe('e');
      } finally {
        clearTimeout(cont);
        if (!resumed) process.kill(pid, 'SIGCONT');
      }
    },
    30000,
  );
});
