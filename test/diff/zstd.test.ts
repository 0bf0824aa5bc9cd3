import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { background } from '../../src/core/context';
import { notFound } from '../../src/core/errors';
import { LayerApplier, unpackTar } from '../../src/diff';
import type { Provider } from '../../src/content/types';
import { buildTar, cleanup, snapshot, tc, tempDir, UNPACK_BIN } from './util';
import { itWith, requireRoot, requireTool } from '../helpers/requires';

const itRoot = itWith(requireRoot(), requireTool('zstd'));
const itHidden = itWith(requireRoot(), requireTool('zstd', 'unshare', 'mount', 'ldconfig'));

/**
 * berth-unpack decodes `+zstd` layers with the system's libzstd, dlopen'ed from libzstd.so.1
 * (native/unpack/zstd.c): same tree and diff_id as the plain tar, several frames as one stream,
 * corrupt input InvalidArgument, and without the library a clear Internal error.
 */
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** The `zstd` CLI (scripts/install-deps.sh installs it), so the frames are libzstd's real ones. */
const zstd = (b: Buffer, ...args: string[]) => execFileSync('zstd', ['-q', '-c', ...args], { input: b, maxBuffer: 1 << 30 });

describe('berth-unpack: zstd layers through libzstd.so.1', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('berth-zstd-');
  });
  afterEach(async () => cleanup(dir));

  const big = Buffer.alloc(3 << 20, 'abcdefghij'); // several 1 MiB ring slots
  const entries = [tc.dir('d'), tc.file('d/a', 'hello'), tc.file('d/big', big), tc.link('d/a', 'd/h'), tc.symlink('a', 'd/s')];

  async function root(name: string): Promise<string> {
    const r = join(dir, name);
    await mkdir(r);
    return r;
  }

  itRoot('a zstd layer gives the same tree and diff_id as its tar; both digests are reported', async () => {
    const tar = await buildTar(entries);
    const zst = zstd(tar, '--check');
    const a = await unpackTar(
      Readable.from([zst]),
      { kind: 'plain', root: await root('z') },
      { bin: UNPACK_BIN, expect: { digest: sha(zst), size: zst.length } },
    );
    const b = await unpackTar(Readable.from([tar]), { kind: 'plain', root: await root('t') }, { bin: UNPACK_BIN });
    expect(a).toMatchObject({ format: 'zstd', digest: sha(tar), size: tar.length, inputDigest: sha(zst), inputSize: zst.length });
    expect(b).toMatchObject({ format: 'tar', digest: sha(tar) });
    expect(await snapshot(join(dir, 'z'))).toEqual(await snapshot(join(dir, 't')));
    expect((await readFile(join(dir, 'z/d/big'))).equals(big)).toBe(true);
  });

  itRoot('several frames back to back (and a skippable frame) are one stream; a long-window frame decodes', async () => {
    const tar = await buildTar(entries);
    const cut = 512 * 3 + 7;
    // A skippable frame: magic 0x184D2A50 (LE), 4-byte length, payload.
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18]), Buffer.from([5, 0, 0, 0]), Buffer.from('berth')]);
    const multi = Buffer.concat([zstd(tar.subarray(0, cut)), skippable, zstd(tar.subarray(cut), '--long=24')]);
    const r = await unpackTar(
      Readable.from([multi]),
      { kind: 'plain', root: await root('m') },
      { bin: UNPACK_BIN, expect: { digest: sha(multi), size: multi.length } },
    );
    expect(r).toMatchObject({ format: 'zstd', digest: sha(tar), size: tar.length });
    expect((await readFile(join(dir, 'm/d/big'))).equals(big)).toBe(true);
  });

  itRoot('corrupt, truncated and trailing-garbage zstd are InvalidArgument, with nothing outside the root', async () => {
    const tar = await buildTar(entries);
    const zst = zstd(tar, '--check');
    const corrupt = Buffer.from(zst);
    for (let i = 40; i < 90; i++) corrupt[i] ^= 0x5a;
    const badSum = Buffer.from(zst);
    badSum[badSum.length - 1] ^= 0xff; // the content checksum (--check) is the frame's last 4 bytes
    const cases: Array<[string, Buffer, RegExp]> = [
      ['corrupt', corrupt, /zstd: /],
      ['truncated', zst.subarray(0, zst.length - 100), /zstd: unexpected end of data/],
      ['magic-only', zst.subarray(0, 4), /zstd: /],
      ['trailing', Buffer.concat([zst, Buffer.from('garbage after the frame')]), /zstd: .*at input offset/],
      ['bad-checksum', badSum, /zstd: .*checksum/i],
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

  itRoot('LayerApplier applies the OCI +zstd media type from the blob file and from a stream', async () => {
    const tar = await buildTar([tc.dir('d'), tc.file('d/f', 'content')]);
    const zst = zstd(tar);
    await writeFile(join(dir, 'blob'), zst);
    const provider: Provider = {
      info: async (_c, d) => {
        if (d !== sha(zst)) throw notFound(`content ${d}: not found`);
        return { digest: d, size: zst.length, createdAt: new Date(), updatedAt: new Date(), labels: {} };
      },
      read: async function* () {
        yield zst;
      },
    };
    const ctx = background('default');
    for (const [name, blobFile] of [
      ['file', () => join(dir, 'blob')],
      ['stream', () => undefined],
    ] as const) {
      const a = new LayerApplier(provider, { tmpdir: join(dir, 'tmp'), bin: UNPACK_BIN, blobFile });
      const r = await a.apply(ctx, { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha(zst), size: zst.length }, [
        { type: 'bind', source: await root(name), options: ['rbind'] },
      ]);
      expect(r).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(tar), size: tar.length });
      expect(await readFile(join(dir, name, 'd/f'), 'utf8')).toBe('content');
    }
  });

  itHidden('without libzstd.so.1 a zstd layer fails clearly (Internal) and gzip-free plain tars still apply', async () => {
    // Hide libzstd in a private mount namespace: its file becomes empty, so dlopen fails.
    const ldconfig = execFileSync('ldconfig', ['-p']).toString();
    const lib = /libzstd\.so\.1 \(libc6,x86-64\) => (\S+)/.exec(ldconfig)?.[1] ?? /libzstd\.so\.1 \([^)]*\) => (\S+)/.exec(ldconfig)?.[1];
    expect(lib).toBeDefined();
    const real = await realpath(lib!);
    const tar = await buildTar([tc.dir('d'), tc.file('d/f', 'content')]);
    const applyHidden = (blob: Buffer, r: string): string => {
      try {
        return execFileSync('unshare', ['-m', 'sh', '-c', 'mount --bind /dev/null "$1" && exec "$2" "$3"', 'sh', real, UNPACK_BIN, r], { input: blob })
          .toString()
          .trim();
      } catch (e) {
        return String((e as { stdout?: Buffer }).stdout ?? '').trim();
      }
    };
    expect(JSON.parse(applyHidden(tar, await root('plain')))).toMatchObject({ type: 'done', format: 'tar', digest: sha(tar) });
    const line = JSON.parse(applyHidden(zstd(tar), await root('nozstd')));
    expect(line).toMatchObject({
      type: 'error',
      kind: 'internal',
      format: 'zstd',
      msg: expect.stringMatching(/zstd: cannot load libzstd, which zstd layers need \(install libzstd1\).*libzstd\.so\.1/),
    });
    expect(await snapshot(join(dir, 'nozstd'))).toEqual({ '.': expect.anything() });
  });
});
