import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyTar, buildTar, cleanup, itRoot, snapshot, tc, tempDir, type TarEntry } from './util';

/**
 * Fuzz-style robustness of Apply's native half: random bytes, truncated archives, corrupted
 * headers. Every run must end in success or a classified error: never a crash signal, never a
 * hang (the child is cancelled after a generous bound and that fails the test), never a write
 * outside the root. Seeded, so deterministic.
 */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** Recomputes a header block's checksum so deeper parsers are reached. */
function fixChecksum(tar: Buffer, off: number): Buffer {
  const h = tar.subarray(off, off + 512);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return tar;
}

function setField(tar: Buffer, off: number, start: number, len: number, value: Buffer | string): Buffer {
  const t = Buffer.from(tar);
  const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  t.fill(0, off + start, off + start + len);
  v.copy(t, off + start, 0, Math.min(len, v.length));
  return fixChecksum(t, off);
}

const sample: TarEntry[] = [
  tc.dir('d'),
  tc.file('d/a', 'hello world'),
  tc.symlink('a', 'd/s'),
  tc.link('d/a', 'd/h'),
  { ...tc.file(`d/${'x'.repeat(140)}`, 'long'), pax: { 'SCHILY.xattr.user.k': 'v' } },
  tc.file('d/.wh.gone', ''),
  tc.file('big', 'B'.repeat(3000)),
];

describe('fuzz: malformed and truncated layers', () => {
  let dir: string;
  let root: string;
  let before: Record<string, unknown>;
  beforeAll(async () => {
    dir = await tempDir('berth-fuzz-');
    await mkdir(join(dir, 'outside'));
    await writeFile(join(dir, 'outside', 'sentinel'), 'unbroken');
    before = await snapshot(dir);
  });
  afterAll(async () => {
    await cleanup(dir);
  });

  let n = 0;
  async function feed(tar: Buffer, label: string): Promise<'ok' | 'error'> {
    root = join(dir, 'r', `root-${n++}`);
    await mkdir(root, { recursive: true });
    try {
      await applyTar(tar, { kind: n % 2 ? 'overlay' : 'plain', root, upper: root } as never, AbortSignal.timeout(30_000));
      return 'ok';
    } catch (e) {
      const err = e as { kind?: string; message: string };
      if (err.kind === 'Canceled') throw new Error(`${label}: berth-unpack hung`, { cause: e });
      if (/killed by|without a result/.test(err.message)) throw new Error(`${label}: crashed: ${err.message}`, { cause: e });
      expect(['InvalidArgument', 'Internal']).toContain(err.kind);
      return 'error';
    } finally {
      await rm(join(dir, 'r'), { recursive: true, force: true });
    }
  }
  const contained = async () => expect(await snapshot(dir)).toEqual(before);

  itRoot('random bytes of many sizes', async () => {
    const rand = prng(42);
    for (const size of [0, 1, 100, 511, 512, 513, 1024, 4096, 10_000, 100_000]) {
      for (let k = 0; k < 3; k++) await feed(randomBytes(rand, size), `random ${size}`);
    }
    // random data behind a plausible header
    const valid = await buildTar(sample);
    for (let k = 0; k < 10; k++) await feed(Buffer.concat([valid.subarray(0, 512), randomBytes(rand, 2048)]), 'header+random');
    await contained();
  });

  itRoot('a valid archive truncated at every 512-byte boundary and at odd offsets', async () => {
    const tar = await buildTar(sample);
    expect(await feed(tar, 'whole')).toBe('ok');
    const results: string[] = [];
    for (let cut = 0; cut < tar.length; cut += 512) results.push(await feed(tar.subarray(0, cut), `cut ${cut}`));
    for (const cut of [1, 7, 100, 300, 511, 513, 777, 1000, 1500, 2049, 3333, tar.length - 1, tar.length - 513])
      results.push(await feed(tar.subarray(0, cut), `cut ${cut}`));
    expect(results.filter((r) => r === 'error').length).toBeGreaterThan(5);
    await contained();
  });

  itRoot('corrupted header fields: checksum, huge and negative sizes, junk octal, unknown types, bad PAX', async () => {
    const tar = await buildTar([tc.file('f', 'data'), tc.file('g', 'more')]);
    const cases: Array<[string, Buffer]> = [
      [
        'bad checksum',
        (() => {
          const t = Buffer.from(tar);
          t[0] ^= 1;
          return t;
        })(),
      ],
      [
        'checksum not octal',
        setField(tar, 0, 0, 0, '') &&
          (() => {
            const t = Buffer.from(tar);
            t.write('zzzzzz', 148, 'latin1');
            return t;
          })(),
      ],
      ['size 8 GiB octal', setField(tar, 0, 124, 12, '77777777777')],
      ['size base-256 2^62', setField(tar, 0, 124, 12, Buffer.from([0x80, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0]))],
      ['size base-256 negative', setField(tar, 0, 124, 12, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]))],
      ['size junk', setField(tar, 0, 124, 12, '12x4')],
      ['mode negative-looking', setField(tar, 0, 100, 8, '-0000644')],
      ['uid huge base-256', setField(tar, 0, 108, 8, Buffer.from([0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))],
      ['mtime negative base-256', setField(tar, 0, 136, 12, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]))],
      ['type S (sparse)', setField(tar, 0, 156, 1, 'S')],
      ['type V', setField(tar, 0, 156, 1, 'V')],
      ['type L with huge size', setField(setField(tar, 0, 156, 1, 'L'), 0, 124, 12, '77777777')],
      ['type x with huge size', setField(setField(tar, 0, 156, 1, 'x'), 0, 124, 12, '77777777')],
      ['type x garbage records', setField(setField(tar, 0, 156, 1, 'x'), 0, 124, 12, '4')],
      ['zero block then garbage', Buffer.concat([Buffer.alloc(512), Buffer.from(tar.subarray(0, 512))])],
      ['name without NUL', setField(tar, 0, 0, 100, 'n'.repeat(100))],
    ];
    const paxBodies = [
      '0 path=x\n',
      '99999 path=x\n',
      '12 pathx\n',
      '10 path=\n',
      'abc path=x\n',
      '11 size=-1\n',
      '13 uid=99999999999\n',
      '12 mtime=1e9\n',
      '27 GNU.sparse.map=0,1\n',
      '9 path=\0\n',
    ];
    for (const body of paxBodies) {
      const b = Buffer.from(body, 'latin1');
      const header = setField(setField(Buffer.from(tar.subarray(0, 512)), 0, 156, 1, 'x'), 0, 124, 12, b.length.toString(8));
      const padded = Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
      cases.push([`pax ${JSON.stringify(body)}`, Buffer.concat([header, padded, tar])]);
    }
    for (const [label, t] of cases) await feed(t, label);
    await contained();
  });

  itRoot('random single-byte mutations of a valid archive (checksums fixed)', async () => {
    const rand = prng(7);
    const tar = await buildTar(sample);
    const headers: number[] = [];
    for (let off = 0; off + 512 <= tar.length; off += 512) if (tar.subarray(off + 257, off + 262).toString('latin1') === 'ustar') headers.push(off);
    for (let k = 0; k < 150; k++) {
      const t = Buffer.from(tar);
      const off = headers[Math.floor(rand() * headers.length)]!;
      const pos = Math.floor(rand() * 512);
      t[off + pos] = Math.floor(rand() * 256);
      await feed(rand() < 0.8 ? fixChecksum(t, off) : t, `mutation ${k} @${off}+${pos}`);
    }
    await contained();
  });
});
