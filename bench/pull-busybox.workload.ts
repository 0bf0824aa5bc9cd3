/**
 * Issue 3, the small image: `ctr images pull --plain-http` of the ≈1 MB busybox image (one layer)
 * from the loopback registry, into each daemon, alternated (bench/lib/pull-rows.ts). The 100 MB+
 * images are bench/pull.workload.ts (pull-large) and bench/pull-debian.workload.ts.
 */
import { oncePerRun, pullRow } from './lib/pull-rows';
import { pushImage } from '../test/helpers/registry';

const image = oncePerRun(async (env) => {
  const { layoutDir, images } = await env.images();
  const bb = images.find((i) => i.refName.includes('busybox'));
  if (!bb) throw new Error('no busybox image in env.images()');
  return pushImage(await env.registry(), layoutDir, bb.refName, 'library/busybox:bench');
});

export const pullBusybox = pullRow({
  name: 'pull-busybox',
  description: '`ctr images pull --plain-http` of the ≈1 MB busybox image (fetch + unpack) from the loopback registry',
  image,
});
