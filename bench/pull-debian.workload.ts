/**
 * `ctr images pull --plain-http` of a real distribution root filesystem (bench/lib/debian-image.ts:
 * debootstrap'ed Debian + an apt-get install layer; ~12.5k entries, ~105 MB gzip), into berthd
 * and into containerd, alternated (bench/lib/pull-rows.ts): once as base + apt layer, once
 * flattened into one layer. Unlike pull-large's few hundred big files, the time here goes into
 * creating many small files. The images are built on the first run and cached (BERTH_BENCH_CACHE).
 */
import { debianImages } from './lib/debian-image';
import { oncePerRun, pullRow } from './lib/pull-rows';
import { journaledExt4 } from './lib/scratch-fs';
import { pushImage } from '../test/helpers/registry';
import type { BenchEnv } from './lib/workload';

export const debianPushed = oncePerRun(async (env: BenchEnv) => {
  const imgs = await debianImages(env.log);
  const registry = await env.registry();
  const layered = await pushImage(registry, imgs.layoutDir, imgs.layered.refName, 'library/debian-layers:bench', { timeoutMs: 300000 });
  const flat = await pushImage(registry, imgs.layoutDir, imgs.flat.refName, 'library/debian-flat:bench', { timeoutMs: 300000 });
  return { layered, flat };
});

export const pullDebian = pullRow({
  name: 'pull-debian',
  description: "`ctr images pull --plain-http` of a debootstrap'ed Debian bookworm + apt-get install layer (2 layers, ~105 MB gzip)",
  image: async (env) => (await debianPushed(env)).layered,
  rounds: 3,
});

export const pullDebianFlat = pullRow({
  name: 'pull-debian-flat',
  description: 'the same Debian tree as one layer (a squashed image)',
  image: async (env) => (await debianPushed(env)).flat,
  rounds: 3,
});

export const pullDebianExt4 = pullRow({
  name: 'pull-debian-ext4',
  description: 'pull-debian into fresh daemons on a journaled ext4 (bench/lib/scratch-fs.ts)',
  image: async (env) => (await debianPushed(env)).layered,
  rounds: 3,
  under: journaledExt4,
});

export const pullDebianFlatExt4 = pullRow({
  name: 'pull-debian-flat-ext4',
  description: 'pull-debian-flat into fresh daemons on a journaled ext4',
  image: async (env) => (await debianPushed(env)).flat,
  rounds: 3,
  under: journaledExt4,
});
