/**
 * Layer apply throughput: berth's Diff.Apply pipeline (content stream → berth-unpack, which
 * sniffs, inflates and hashes blob and tar on its decoder thread) on a ~100 MB gzip
 * layer built from a real tree, with the time split per stage, beside `tar -xzf` of the same file.
 *
 *   npx tsc -p tsconfig.bench.json && sudo node dist-bench/bench/unpack.js [--src /usr/lib/x86_64-linux-gnu] [--mb 100]
 *
 * BERTH_UNPACK_BIN=<build>/berth-unpack measures another build (e.g. the portable codec's:
 * make -C native/unpack BUILD=/tmp/p BERTH_CODEC=portable).
 *
 * Prints a table and one JSON line. Cleans up its temp dir.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { unpackTar } from '../src/diff/unpack';

const MiB = 1 << 20;
const BIN = process.env.BERTH_UNPACK_BIN || join(__dirname, '..', '..', 'native', 'build', 'berth-unpack');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};

function sh(cmd: string, args: string[], opts: { stdin?: number } = {}): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: [opts.stdin ?? 'ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, r];
}

const settle = () => spawnSync('sync');
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

async function main() {
  const src = arg('src', '/usr/lib/x86_64-linux-gnu');
  const targetMb = Number(arg('mb', '100'));
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-unpack-'));
  try {
    // 1. Build the layer: tar of the real tree, cut at about targetMb of gzip.
    const tarPath = join(work, 'layer.tar');
    const gzPath = join(work, 'layer.tar.gz');
    const approxTar = targetMb * 2.6 * MiB; // typical ratio for libraries
    await new Promise<void>((resolve, reject) => {
      const p = spawn('tar', ['-C', src, '--sort=name', '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'ignore'] });
      const out = createWriteStream(tarPath);
      let n = 0;
      p.stdout.on('data', (b: Buffer) => {
        if (n >= approxTar) return;
        n += b.length;
        out.write(b);
        if (n >= approxTar) p.kill();
      });
      p.on('close', () => out.end(() => resolve()));
      p.on('error', reject);
    });
    // A cut tar is still a valid layer for berth (EOF without end blocks is accepted, as Go's reader
    // does) only at a header boundary; re-pack the prefix with tar itself to keep it well-formed.
    const listDir = join(work, 'tree');
    spawnSync('mkdir', [listDir]);
    spawnSync('tar', ['-C', listDir, '-xf', tarPath], { stdio: 'ignore' });
    rmSync(tarPath);
    sh('tar', ['-C', listDir, '--sort=name', '-cf', tarPath, '.']);
    rmSync(listDir, { recursive: true, force: true });
    await pipeline(createReadStream(tarPath), createGzip({ level: 6 }), createWriteStream(gzPath));
    const tarSize = statSync(tarPath).size;
    const gzSize = statSync(gzPath).size;
    const gzDigest = `sha256:${createHash('sha256')
      .update(spawnSync('cat', [gzPath], { maxBuffer: 1 << 30 }).stdout)
      .digest('hex')}`;

    // 2. Stage by stage.
    const [tGunzip] = await timed(() => pipeline(createReadStream(gzPath), createGunzip({ chunkSize: 256 << 10 }), sink()));
    const [tSha] = await timed(async () => {
      const h = createHash('sha256');
      for await (const c of createReadStream(tarPath, { highWaterMark: MiB })) h.update(c as Buffer);
      return h.digest('hex');
    });
    settle();
    const ex1 = join(work, 'x1');
    spawnSync('mkdir', [ex1]);
    const fd = openSync(tarPath, 'r');
    const tExtract = sh(BIN, [ex1], { stdin: fd });
    closeSync(fd);
    rmSync(ex1, { recursive: true, force: true });

    // 3. The whole Apply pipeline as Diff.Apply runs it.
    settle();
    const ex2 = join(work, 'x2');
    spawnSync('mkdir', [ex2]);
    const [tFull, r] = await timed(() =>
      unpackTar(
        createReadStream(gzPath, { highWaterMark: MiB }),
        { kind: 'plain', root: ex2 },
        {
          bin: BIN,
          expect: { digest: gzDigest, size: gzSize },
        },
      ),
    );
    rmSync(ex2, { recursive: true, force: true });
    if (r.size !== tarSize) throw new Error(`size mismatch ${r.size} != ${tarSize}`);

    // 4. GNU tar on the same file.
    settle();
    const ex3 = join(work, 'x3');
    spawnSync('mkdir', [ex3]);
    const tTarXz = sh('tar', ['-C', ex3, '-xzf', gzPath]);
    rmSync(ex3, { recursive: true, force: true });
    settle();
    const ex4 = join(work, 'x4');
    spawnSync('mkdir', [ex4]);
    const tTarX = sh('tar', ['-C', ex4, '-xf', tarPath]);
    rmSync(ex4, { recursive: true, force: true });

    const mb = (b: number) => b / MiB;
    const rows: Array<[string, number, string]> = [
      ['gunzip (node zlib, alone)', tGunzip, `${(mb(tarSize) / tGunzip).toFixed(0)} MiB/s out`],
      ['sha256 of the tar (alone)', tSha, `${(mb(tarSize) / tSha).toFixed(0)} MiB/s`],
      ['berth-unpack extraction (tar on stdin)', tExtract, `${(mb(tarSize) / tExtract).toFixed(0)} MiB/s`],
      [
        'Apply pipeline (berth-unpack: gunzip+2×sha256+extract)',
        tFull,
        `${(mb(gzSize) / tFull).toFixed(0)} MiB/s gz, ${(mb(tarSize) / tFull).toFixed(0)} MiB/s tar`,
      ],
      ['tar -xzf (GNU tar + gzip)', tTarXz, `${(mb(gzSize) / tTarXz).toFixed(0)} MiB/s gz, ${(mb(tarSize) / tTarXz).toFixed(0)} MiB/s tar`],
      ['tar -xf (extraction only)', tTarX, `${(mb(tarSize) / tTarX).toFixed(0)} MiB/s`],
    ];
    console.log(`layer: ${src}: ${mb(gzSize).toFixed(1)} MiB gzip, ${mb(tarSize).toFixed(1)} MiB tar, ${r.entries} entries`);
    for (const [name, t, rate] of rows) console.log(`${name.padEnd(48)} ${t.toFixed(2).padStart(7)} s   ${rate}`);
    console.log(
      JSON.stringify({
        gzBytes: gzSize,
        tarBytes: tarSize,
        entries: r.entries,
        seconds: { gunzip: tGunzip, sha256: tSha, extract: tExtract, apply: tFull, tarXzf: tTarXz, tarXf: tTarX },
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
