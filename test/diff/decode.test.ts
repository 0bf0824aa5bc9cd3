import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { background } from '../../src/core/context';
import { notFound } from '../../src/core/errors';
import { LayerApplier, unpackTar } from '../../src/diff';
import type { Provider } from '../../src/content/types';
import { buildTar, cleanup, itRoot, snapshot, tc, tempDir, UNPACK_BIN } from './util';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** berth-unpack's own gzip and SHA-256 (its codec: ISA-L + OpenSSL, or zlib + sha256.c) on its decoder thread. */
describe('berth-unpack: gzip and digests in C', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('berth-decode-');
  });
  afterEach(async () => cleanup(dir));

  const big = Buffer.alloc(3 << 20, 'abcdefghij'); // several 1 MiB ring slots
  const entries = [tc.dir('d'), tc.file('d/a', 'hello'), tc.file('d/big', big), tc.link('d/a', 'd/h')];

  async function root(name: string): Promise<string> {
    const r = join(dir, name);
    await mkdir(r);
    return r;
  }

  itRoot('a gzip layer gives the same tree and diff_id as its tar; both digests are reported', async () => {
    const tar = await buildTar(entries);
    const gz = gzipSync(tar);
    const a = await unpackTar(
      Readable.from([gz]),
      { kind: 'plain', root: await root('gz') },
      { bin: UNPACK_BIN, expect: { digest: sha(gz), size: gz.length } },
    );
    const b = await unpackTar(Readable.from([tar]), { kind: 'plain', root: await root('tar') }, { bin: UNPACK_BIN });
    expect(a).toMatchObject({ format: 'gzip', digest: sha(tar), size: tar.length, inputDigest: sha(gz), inputSize: gz.length });
    expect(b).toMatchObject({ format: 'tar', digest: sha(tar), size: tar.length, inputDigest: sha(tar) });
    expect(await snapshot(join(dir, 'gz'))).toEqual(await snapshot(join(dir, 'tar')));
  });

  itRoot('several gzip members back to back are one stream (as Go reads them)', async () => {
    const tar = await buildTar(entries);
    const cut = 512 * 3 + 7; // inside a record: the split is invisible after inflating
    const gz = Buffer.concat([gzipSync(tar.subarray(0, cut)), gzipSync(tar.subarray(cut))]);
    const r = await unpackTar(Readable.from([gz]), { kind: 'plain', root: await root('r') }, { bin: UNPACK_BIN });
    expect(r).toMatchObject({ digest: sha(tar), size: tar.length });
    expect((await readFile(join(dir, 'r/d/big'))).equals(big)).toBe(true);
  });

  itRoot('corrupt, truncated and trailing-garbage gzip are InvalidArgument, with nothing outside the root', async () => {
    const tar = await buildTar(entries);
    const gz = gzipSync(tar);
    const corrupt = Buffer.from(gz);
    for (let i = 200; i < 260; i++) corrupt[i] ^= 0x5a;
    const cases: Array<[string, Buffer, RegExp]> = [
      ['corrupt', corrupt, /gzip/],
      ['truncated', gz.subarray(0, gz.length - 100), /gzip: unexpected end/],
      ['header-only', gz.subarray(0, 10), /gzip|end of archive/],
      ['trailing', Buffer.concat([gz, Buffer.from('garbage after the member')]), /gzip/],
      ['bad-crc', Buffer.concat([gz.subarray(0, gz.length - 8), Buffer.alloc(8, 0xff)]), /gzip/],
    ];
    for (const [name, blob, msg] of cases) {
      const r = await root(name);
      await expect(unpackTar(Readable.from([blob]), { kind: 'plain', root: r }, { bin: UNPACK_BIN })).rejects.toMatchObject({
        kind: 'InvalidArgument',
        message: expect.stringMatching(msg),
      });
    }
    expect((await readdir(dir)).sort()).toEqual(cases.map(([n]) => n).sort());
  });

  itRoot('a corrupted blob is a digest mismatch (FailedPrecondition), not a gzip error', async () => {
    const gz = gzipSync(await buildTar(entries));
    const bad = Buffer.from(gz);
    for (let i = 100; i < 140; i++) bad[i] ^= 0xff;
    await expect(
      unpackTar(Readable.from([bad]), { kind: 'plain', root: await root('r') }, { bin: UNPACK_BIN, expect: { digest: sha(gz), size: gz.length } }),
    ).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringMatching(/digest mismatch/),
    });
  });

  itRoot('--input reads the blob file itself; verifiedInput skips the blob hash but still checks its size', async () => {
    const tar = await buildTar(entries);
    const gz = gzipSync(tar);
    const file = join(dir, 'blob');
    await writeFile(file, gz);
    const r = await unpackTar(
      { file },
      { kind: 'plain', root: await root('a') },
      { bin: UNPACK_BIN, expect: { digest: sha(gz), size: gz.length }, verifiedInput: true },
    );
    expect(r).toMatchObject({ digest: sha(tar), size: tar.length, inputDigest: '', inputSize: gz.length });
    await expect(
      unpackTar({ file }, { kind: 'plain', root: await root('b') }, { bin: UNPACK_BIN, expect: { digest: sha(gz), size: gz.length + 1 }, verifiedInput: true }),
    ).rejects.toMatchObject({
      kind: 'FailedPrecondition',
    });
    // Without verifiedInput the file is hashed like a stream.
    await expect(
      unpackTar({ file }, { kind: 'plain', root: await root('c') }, { bin: UNPACK_BIN, expect: { digest: sha(tar), size: gz.length } }),
    ).rejects.toMatchObject({ kind: 'FailedPrecondition' });
    await expect(unpackTar({ file: join(dir, 'missing') }, { kind: 'plain', root: await root('d') }, { bin: UNPACK_BIN })).rejects.toMatchObject({
      kind: 'Internal',
    });
  });

  itRoot(
    'LayerApplier with a blob file: applies gzip and tar, bytes that only start like zstd are InvalidArgument, a wrong size is FailedPrecondition',
    async () => {
      const tar = await buildTar([tc.dir('d'), tc.file('d/f', 'content')]);
      const gz = gzipSync(tar);
      const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64)]);
      const blobs: Record<string, Buffer> = { [sha(gz)]: gz, [sha(tar)]: tar, [sha(zstd)]: zstd };
      for (const [d, b] of Object.entries(blobs)) await writeFile(join(dir, d.slice(7)), b);
      const provider: Provider = {
        info: async (_c, d) => {
          if (!blobs[d]) throw notFound(`content ${d}: not found`);
          return { digest: d, size: blobs[d]!.length, createdAt: new Date(), updatedAt: new Date(), labels: {} };
        },
        // eslint-disable-next-line require-yield -- a stream that must never be read
        read: async function* () {
          throw new Error('the blob file is used, not the stream');
        },
      };
      const a = new LayerApplier(provider, { tmpdir: join(dir, 'tmp'), bin: UNPACK_BIN, blobFile: (d) => join(dir, d.slice(7)) });
      const ctx = background('default');
      const bind = async (n: string) => [{ type: 'bind', source: await root(n), options: ['rbind'] }];
      for (const [n, b] of [
        ['g', gz],
        ['t', tar],
      ] as const) {
        const r = await a.apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(b), size: b.length }, await bind(n));
        expect(r).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(tar), size: tar.length });
        expect(await readFile(join(dir, n, 'd/f'), 'utf8')).toBe('content');
      }
      await expect(
        a.apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha(zstd), size: zstd.length }, await bind('z')),
      ).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringMatching(/zstd: /) });
      await expect(
        a.apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(gz), size: gz.length + 5 }, await bind('s')),
      ).rejects.toMatchObject({ kind: 'FailedPrecondition' });
      await expect(
        a.apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(Buffer.from('nope')), size: 4 }, await bind('n')),
      ).rejects.toMatchObject({ kind: 'NotFound' });
    },
  );

  itRoot(
    'random corruption of a gzip layer never crashes or hangs berth-unpack',
    async () => {
      const gz = gzipSync(await buildTar(entries));
      let seed = 7;
      const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
      for (let i = 0; i < 25; i++) {
        const b = Buffer.from(gz.subarray(0, 10 + Math.floor(rand() * (gz.length - 10))));
        for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) b[10 + Math.floor(rand() * (b.length - 10))] = Math.floor(rand() * 256);
        const r = await root(`f${i}`);
        await unpackTar(Readable.from([b]), { kind: 'plain', root: r }, { bin: UNPACK_BIN }).then(
          () => undefined,
          (e: { kind?: string }) => expect(['InvalidArgument']).toContain(e.kind),
        );
      }
    },
    60000,
  );
});
