import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { unpackTar, type UnpackResult } from '../../src/diff';
import { buildTar, cleanup, itRoot, REPO, snapshot, tc, tempDir, UNPACK_BIN } from './util';

/**
 * berth-unpack's portable codec (native/unpack/codec_portable.c + sha256.c: what a machine without
 * libisal-dev / libssl-dev builds) against the normal build: same digests, sizes, trees and
 * errors for the same layers, the FIPS 180-4 SHA-256 vectors, and no link to ISA-L, OpenSSL,
 * zlib or libzstd (zlib and libzstd are dlopen'ed, so a missing libz.so.1 only fails gzip layers).
 */
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
let portableBin: string;
let portableSum: string;
let normalSum: string;

beforeAll(async () => {
  dir = await tempDir('berth-portable-');
  const build = join(dir, 'build');
  const make = (args: string[]) =>
    execFileSync('make', ['-s', '-C', join(REPO, 'native', 'unpack'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  const out = make([`BUILD=${build}`, 'BERTH_CODEC=portable', 'all', 'sha256sum']);
  expect(out).toContain('portable codec');
  portableBin = join(build, 'berth-unpack');
  portableSum = join(build, 'unpack-obj', 'sha256sum');
  make(['sha256sum']); // the normal build's codec (fast where the headers are), beside its berth-unpack
  normalSum = join(REPO, 'native', 'build', 'unpack-obj', 'sha256sum');
}, 120000);
afterAll(async () => cleanup(dir));

describe('SHA-256 of the portable codec (FIPS 180-4)', () => {
  // Plain C, and SHA-NI where the CPU has it (sha256_shani.c): both are checked.
  const shaNi = /^flags\s*:.*\bsha_ni\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  const plainC = { ...process.env, BERTH_SHA256_NO_SHANI: '1' };
  const run = (bin: string, input: Buffer, env = process.env) => execFileSync(bin, [], { input, env }).toString().trim().split(/\s+/);
  const sum = (bin: string, input: Buffer) => {
    if (bin !== portableSum) return run(bin, input)[0];
    const [viaC, , , implC] = run(bin, input, plainC);
    const [auto, , , impl] = run(bin, input);
    expect([implC, impl]).toEqual(['c', shaNi ? 'sha-ni' : 'c']);
    expect(auto).toBe(viaC);
    return auto;
  };

  it('gives the standard example vectors', () => {
    const vectors: Array<[Buffer, string]> = [
      [Buffer.from('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      [Buffer.alloc(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      [Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
      [Buffer.alloc(1000000, 'a'), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
    ];
    for (const [input, want] of vectors) expect(sum(portableSum, input)).toBe(want);
    expect(execFileSync(portableSum, [], { input: 'x' }).toString()).toContain('portable codec');
    expect(execFileSync(normalSum, [], { input: 'x' }).toString()).toMatch(/(fast codec, openssl|portable codec)/);
  });

  it('agrees with Node and the normal build at every block boundary and for 1 MiB of "a"', () => {
    let seed = 99;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const lengths = [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65536 + 17, (3 << 20) + 5];
    const inputs = [Buffer.alloc(1 << 20, 'a'), ...lengths.map((n) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256))))];
    for (const b of inputs) {
      expect(sum(portableSum, b)).toBe(hex(b));
      expect(sum(normalSum, b)).toBe(hex(b));
    }
  });
});

describe('berth-unpack portable vs normal build', () => {
  const big = Buffer.alloc(3 << 20, 'abcdefghij'); // several 1 MiB ring slots, long lookbacks
  const noise = Buffer.from(Array.from({ length: 200000 }, (_, i) => (i * 2654435761) >>> 24)); // hardly compressible
  const entries = [tc.dir('d'), tc.file('d/a', 'hello'), tc.file('d/big', big), tc.file('d/noise', noise), tc.link('d/a', 'd/h'), tc.symlink('a', 'd/s')];

  type Outcome = { ok: UnpackResult } | { err: { kind?: string; message: string } };
  async function run(bin: string, blob: Buffer, name: string): Promise<{ outcome: Outcome; root: string }> {
    const root = join(dir, name);
    await mkdir(root, { recursive: true });
    const outcome = await unpackTar(Readable.from([blob]), { kind: 'plain', root }, { bin }).then(
      (ok) => ({ ok }),
      // Where each inflater notices corruption (how far it read ahead) differs; the error does not.
      (e: { kind?: string; message: string }) => ({ err: { kind: e.kind, message: e.message.replace(/at input offset \d+/, 'at input offset N') } }),
    );
    return { outcome, root };
  }

  itRoot(
    'the same layers give the same digests, sizes, trees and errors',
    async () => {
      const tar = await buildTar(entries);
      const gz = gzipSync(tar);
      const cut = [512 * 3 + 7, 1 << 20, (2 << 20) + 333];
      const multi = Buffer.concat([0, ...cut].map((s, i) => gzipSync(tar.subarray(s, cut[i] ?? tar.length), { level: 1 + (i % 9) })));
      const corrupt = Buffer.from(gz);
      for (let i = 200; i < 260; i++) corrupt[i] ^= 0x5a;
      const layers: Array<[string, Buffer, 'ok' | RegExp]> = [
        ['tar', tar, 'ok'],
        ['gzip', gz, 'ok'],
        ['gzip-best', gzipSync(tar, { level: 9 }), 'ok'],
        ['multi-member', multi, 'ok'],
        ['corrupt', corrupt, /gzip: /],
        ['truncated', gz.subarray(0, gz.length - 100), /gzip: unexpected end of data after \d+ bytes/],
        ['header-only', gz.subarray(0, 10), /gzip: unexpected end/],
        ['trailing', Buffer.concat([gz, Buffer.from('garbage after the member')]), /gzip: invalid gzip header/],
        ['bad-crc', Buffer.concat([gz.subarray(0, gz.length - 8), Buffer.alloc(8, 0xff)]), /gzip: checksum mismatch/],
        // zstd is libzstd in both builds (zstd.c): the same frames decode the same.
        ['zstd', execFileSync('zstd', ['-q', '-c', '--check'], { input: tar }), 'ok'],
        ['zstd-truncated', execFileSync('zstd', ['-q', '-c'], { input: tar }).subarray(0, 3000), /zstd: unexpected end of data/],
      ];
      for (const [name, blob, want] of layers) {
        const n = await run(UNPACK_BIN, blob, `${name}-normal`);
        const p = await run(portableBin, blob, `${name}-portable`);
        expect({ name, ...p.outcome }).toEqual({ name, ...n.outcome });
        if (want === 'ok') {
          expect(p.outcome).toMatchObject({ ok: { digest: sha(tar), size: tar.length, inputDigest: sha(blob), inputSize: blob.length } });
          expect(await snapshot(p.root)).toEqual(await snapshot(n.root));
        } else {
          expect(p.outcome).toMatchObject({ err: { kind: 'InvalidArgument', message: expect.stringMatching(want) } });
        }
      }
    },
    120000,
  );

  itRoot('links neither ISA-L, OpenSSL nor zlib; without libz.so.1 gzip fails clearly and plain tar still applies', async () => {
    const needed = execFileSync('readelf', ['-d', portableBin]).toString();
    expect(needed).not.toMatch(/libisal|libcrypto|libz\.|libzstd/);
    // Hide zlib in a private mount namespace: its file becomes empty, so dlopen fails.
    const ldconfig = execFileSync('ldconfig', ['-p']).toString();
    const libz = /libz\.so\.1 \(libc6,x86-64\) => (\S+)/.exec(ldconfig)?.[1] ?? /libz\.so\.1 \([^)]*\) => (\S+)/.exec(ldconfig)?.[1];
    expect(libz).toBeDefined();
    const real = await realpath(libz!);
    const tar = await buildTar([tc.dir('d'), tc.file('d/f', 'content')]);
    const applyHidden = async (blob: Buffer, name: string) => {
      const root = join(dir, name);
      await mkdir(root);
      const out = execFileSync('unshare', ['-m', 'sh', '-c', 'mount --bind /dev/null "$1" && exec "$2" "$3"', 'sh', real, portableBin, root], { input: blob });
      return { root, line: out.toString().trim() };
    };
    const plain = await applyHidden(tar, 'nozlib-tar');
    expect(JSON.parse(plain.line)).toMatchObject({ type: 'done', format: 'tar', digest: sha(tar) });
    expect(await snapshot(plain.root)).toMatchObject({ 'd/f': { type: 'file', size: 7 } });
    let gzLine = '';
    try {
      await applyHidden(gzipSync(tar), 'nozlib-gz');
    } catch (e) {
      gzLine = String((e as { stdout?: Buffer }).stdout ?? '').trim();
    }
    expect(JSON.parse(gzLine)).toMatchObject({ type: 'error', kind: 'internal', msg: expect.stringMatching(/gzip: cannot load zlib.*libz\.so\.1/) });
    expect(await snapshot(join(dir, 'nozlib-gz'))).toEqual({ '.': expect.anything() });
  });
});
