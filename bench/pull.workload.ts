/**
 * Issue 3: `ctr images pull --plain-http` of a 100 MB+ multi-layer image (generated, with whiteouts
 * and an opaque dir: test/helpers/large-image.ts) from the loopback registry, into berthd and into
 * containerd, alternated (bench/lib/pull-rows.ts).
 *
 * Where the time goes: ctr does the registry fetch itself and streams each blob to the daemon
 * (Content/Write); the daemon then applies each layer (Diff/Apply: sha256 verify, gunzip, tar
 * extraction into the overlay upper dir). `pull-large-fetch` times `ctr content fetch` of the same
 * image (the fetch + Content/Write part only), so pull − fetch ≈ the unpack (Apply + snapshots).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { largeImage } from '../test/helpers/large-image';
import { writeOciImage } from '../test/helpers/oci';
import { pushImage } from '../test/helpers/registry';
import { oncePerRun, pullRow } from './lib/pull-rows';
import { journaledExt4 } from './lib/scratch-fs';

const image = oncePerRun(async (env) => {
  const layout = join(env.workDir, 'pull-large');
  // 176 MiB of payload, half incompressible: ≈110 MB of gzip layers (≈35 MB with --quick).
  const spec = largeImage({ name: 'docker.io/library/large:bench', totalMiB: env.quick ? 48 : 176, dataLayers: 4, filesPerLayer: 200 });
  const img = await writeOciImage(layout, spec);
  const registry = await env.registry();
  const ref = await pushImage(registry, layout, img.refName, 'library/large:bench', { timeoutMs: 300000 });
  const mb = (n: number) => (n / 1e6).toFixed(1);
  env.log(
    `pull-large: ${ref}, ${img.layers.length} layers, ${mb(img.layers.reduce((a, l) => a + l.size, 0))} MB compressed, ` +
      `${mb(img.layers.reduce((a, l) => a + l.uncompressedSize, 0))} MB uncompressed`,
  );
  await rm(layout, { recursive: true, force: true });
  return ref;
});

export const pullLarge = pullRow({
  name: 'pull-large',
  description: '`ctr images pull --plain-http` of a 100 MB+ 6-layer image (whiteouts, opaque dir) from the loopback registry',
  image,
  rounds: 3,
});

export const pullLargeExt4 = pullRow({
  name: 'pull-large-ext4',
  description: 'pull-large into fresh daemons on a journaled ext4 (bench/lib/scratch-fs.ts)',
  image,
  rounds: 3,
  under: journaledExt4,
});

export const pullLargeFetch = pullRow({
  name: 'pull-large-fetch',
  description: 'the fetch part of pull-large alone: `ctr content fetch --plain-http` (registry → Content/Write, no unpack)',
  image,
  rounds: 3,
  fetchOnly: true,
});
