/**
 * A big multi-layer image (100 MiB+ by default) standing in for a Debian base image in pull/unpack
 * benchmarks: generated, so it is the same on every machine and needs no network. Content is half
 * incompressible and half text-like, which gzips about 2:1 overall like real distro layers; upper
 * layers delete files and whole dirs (whiteouts), make a dir opaque and add hardlinks and symlinks.
 */
import { Readable } from 'node:stream';
import { busyboxEntries } from './images';
import { pseudoRandom, type Content, type FsEntry, type LayerEntry } from './oci-layer';
import type { ImageSpec } from './oci';

const WORDS =
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there one all we their'.split(
    ' ',
  );

/** Deterministic English-ish text (≈3:1 under gzip). */
export function textLike(size: number, seed = 1): Content {
  return {
    size,
    stream: () => {
      let s = seed >>> 0 || 1;
      let left = size;
      return new Readable({
        read() {
          if (left === 0) return void this.push(null);
          const parts: string[] = [];
          let n = 0;
          const want = Math.min(left, 64 << 10);
          while (n < want) {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            const w = WORDS[(s >>> 8) % WORDS.length] + ((s & 15) === 0 ? '.\n' : ' ');
            parts.push(w);
            n += w.length;
          }
          const buf = Buffer.from(parts.join('')).subarray(0, want);
          left -= buf.length;
          this.push(buf);
        },
      });
    },
  };
}

export interface LargeImageOptions {
  name?: string;
  /** Uncompressed payload across the data layers (default 128 MiB). */
  totalMiB?: number;
  /** Data layers (default 4), on top of a busybox base layer and below a deleting layer. */
  dataLayers?: number;
  /** Files per data layer (default 200). */
  filesPerLayer?: number;
  gzipLevel?: number;
}

export function largeImage(opts: LargeImageOptions = {}): ImageSpec {
  const layersN = opts.dataLayers ?? 4;
  const files = opts.filesPerLayer ?? 200;
  const per = Math.floor(((opts.totalMiB ?? 128) << 20) / (layersN * files));
  const gzipLevel = opts.gzipLevel;
  const data: { entries: LayerEntry[]; gzipLevel?: number }[] = [];
  for (let l = 0; l < layersN; l++) {
    const entries: FsEntry[] = [
      { path: 'usr', type: 'dir' },
      { path: `usr/lib${l}`, type: 'dir' },
    ];
    for (let d = 0; d < 10; d++) entries.push({ path: `usr/lib${l}/d${d}`, type: 'dir' });
    for (let f = 0; f < files; f++) {
      const seed = l * 100003 + f + 1;
      const content = f % 2 === 0 ? pseudoRandom(per, seed) : textLike(per, seed);
      entries.push({ path: `usr/lib${l}/d${f % 10}/f${f}`, type: 'file', mode: f % 7 === 0 ? 0o755 : 0o644, content });
    }
    entries.push({ path: `usr/lib${l}/d0/f0.link`, type: 'hardlink', linkname: `usr/lib${l}/d0/f0` });
    entries.push({ path: `usr/lib${l}/current`, type: 'symlink', linkname: 'd1/f1' });
    data.push({ entries, gzipLevel });
  }
  // Last layer: delete a file and a whole dir from each data layer, blank one dir opaquely.
  const top: LayerEntry[] = [];
  for (let l = 0; l < layersN; l++) {
    top.push({ path: `usr/lib${l}/d2/f2`, type: 'whiteout' }, { path: `usr/lib${l}/d3`, type: 'whiteout' });
  }
  top.push({ path: 'usr/lib0/d4', type: 'dir' }, { path: 'usr/lib0/d4', type: 'opaque' }, { path: 'usr/lib0/d4/only', type: 'file', content: 'opaque\n' });
  return {
    name: opts.name ?? 'docker.io/library/large:latest',
    layers: [{ entries: busyboxEntries(), gzipLevel }, ...data, { entries: top, gzipLevel }],
    config: { Cmd: ['sh'] },
  };
}
