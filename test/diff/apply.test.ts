import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { background } from '../../src/core/context';
import { notFound } from '../../src/core/errors';
import { LayerApplier } from '../../src/diff';
import type { Provider } from '../../src/content/types';
import { buildTar, cleanup, itRoot, tc, tempDir, UNPACK_BIN } from './util';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An in-memory Provider yielding 1 KiB chunks (exercises streaming across many chunks). */
function memProvider(blobs: Record<string, Buffer>): Provider {
  return {
    info: async (_c, d) => {
      const b = blobs[d];
      if (!b) throw notFound(`content ${d}: not found`);
      return { digest: d, size: b.length, createdAt: new Date(), updatedAt: new Date(), labels: {} };
    },
    read: async function* (_c, d) {
      const b = blobs[d];
      if (!b) throw notFound(`content ${d}: not found`);
      for (let i = 0; i < b.length; i += 1024) yield b.subarray(i, i + 1024);
    },
  };
}

describe('LayerApplier', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => cleanup(dir));
  const ctx = background('default');

  itRoot('verifies the compressed digest while streaming: a corrupted blob is FailedPrecondition', async () => {
    const tar = await buildTar([tc.file('f', 'x'.repeat(50_000))]);
    const gz = gzipSync(tar);
    const claimed = sha(Buffer.from('something else'));
    const a = new LayerApplier(memProvider({ [claimed]: gz }), { tmpdir: join(dir, 'tmp'), bin: UNPACK_BIN });
    await mkdir(join(dir, 'root'));
    await expect(
      a.apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: claimed, size: gz.length }, [
        { type: 'bind', source: join(dir, 'root'), options: ['rbind'] },
      ]),
    ).rejects.toMatchObject({ kind: 'FailedPrecondition' });
  });

  itRoot('sniffs the compression: a docker gzip layer and an OCI plain tar give the same diff_id; a broken zstd frame is InvalidArgument', async () => {
    const tar = await buildTar([tc.dir('d'), tc.file('d/f', 'content')]);
    const gz = gzipSync(tar);
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64)]);
    const a = new LayerApplier(memProvider({ [sha(gz)]: gz, [sha(tar)]: tar, [sha(zstd)]: zstd }), { tmpdir: join(dir, 'tmp'), bin: UNPACK_BIN });
    for (const [name, blob, mt] of [
      ['g', gz, 'application/vnd.docker.image.rootfs.diff.tar.gzip'],
      ['t', tar, 'application/vnd.oci.image.layer.v1.tar'],
    ] as const) {
      const root = join(dir, name);
      await mkdir(root);
      const r = await a.apply(ctx, { mediaType: mt, digest: sha(blob), size: blob.length }, [{ type: 'bind', source: root, options: ['rbind'] }]);
      expect(r).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(tar), size: tar.length });
      expect(await readFile(join(root, 'd/f'), 'utf8')).toBe('content');
    }
    await expect(
      a.apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha(zstd), size: zstd.length }, [
        { type: 'bind', source: dir, options: ['rbind'] },
      ]),
    ).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringMatching(/zstd: /) });
  });

  itRoot('a plain tar is its own diff_id (hashed once): a wrong digest or size is still FailedPrecondition', async () => {
    const tar = await buildTar([tc.file('f', 'plain')]);
    const other = sha(Buffer.from('not this tar'));
    const a = new LayerApplier(memProvider({ [other]: tar, [sha(tar)]: tar }), { tmpdir: join(dir, 'tmp'), bin: UNPACK_BIN });
    const mt = 'application/vnd.oci.image.layer.v1.tar';
    for (const [name, desc] of [
      ['wrong-digest', { mediaType: mt, digest: other, size: tar.length }],
      ['wrong-size', { mediaType: mt, digest: sha(tar), size: tar.length + 1 }],
    ] as const) {
      await mkdir(join(dir, name));
      await expect(a.apply(ctx, desc, [{ type: 'bind', source: join(dir, name), options: ['rbind'] }])).rejects.toMatchObject({ kind: 'FailedPrecondition' });
    }
    await mkdir(join(dir, 'ok'));
    const r = await a.apply(ctx, { mediaType: mt, digest: sha(tar), size: tar.length }, [{ type: 'bind', source: join(dir, 'ok'), options: ['rbind'] }]);
    expect(r).toMatchObject({ digest: sha(tar), size: tar.length });
  });

  itRoot('a read-only or multi-mount target is refused before anything is read', async () => {
    const a = new LayerApplier(memProvider({}), { tmpdir: join(dir, 'tmp'), bin: UNPACK_BIN });
    const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(Buffer.from('x')), size: 1 };
    await expect(a.apply(ctx, desc, [{ type: 'bind', source: dir, options: ['rbind', 'ro'] }])).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(a.apply(ctx, desc, [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${dir}`] }])).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });
});
