/**
 * The bench's real distribution images: a debootstrap'ed Debian root filesystem
 * (bench/lib/debian-rootfs.sh) as an OCI layout with two images of the same final tree:
 *
 *   debian-layers  base (`debootstrap --variant=minbase`) + one `apt-get install` layer, the
 *                  way a Dockerfile `FROM debian` + `RUN apt-get install …` image is layered
 *   debian-flat    the same tree as one big layer (a squashed image)
 *
 * Building takes about a minute (debootstrap downloads ~60 MB of .debs from the Debian mirror), so
 * the layout is kept in a cache dir (BERTH_BENCH_CACHE, default /var/cache/berth-bench) under a key
 * naming the recipe; a later run reuses it. Deleting the dir rebuilds it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../test/helpers/ctr';
import { writeOciImage, type BuiltImage } from '../../test/helpers/oci';
import { REPO } from './paths';

export const DEBIAN_SUITE = 'bookworm';
/** What the second layer installs: a typical language runtime + tools image (~6k files, ~55 MB gzip). */
export const DEBIAN_PACKAGES = ['python3', 'perl', 'git', 'curl', 'ca-certificates', 'procps', 'less', 'xz-utils'];
/** Bump when the recipe (script, packages, layering) changes: a new cache entry is built. */
const RECIPE = 1;

export interface DebianImages {
  layoutDir: string;
  /** Base + apt layer. */
  layered: BuiltImage;
  /** The same tree, one layer. */
  flat: BuiltImage;
}

export function benchCacheDir(): string {
  return process.env.BERTH_BENCH_CACHE ?? '/var/cache/berth-bench';
}

function mirror(): string {
  return process.env.BERTH_BENCH_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
}

const LAYERED = `docker.io/library/debian-layers:${DEBIAN_SUITE}`;
const FLAT = `docker.io/library/debian-flat:${DEBIAN_SUITE}`;

/** Builds (or finds in the cache) both images; log gets progress lines. */
export async function debianImages(log: (m: string) => void): Promise<DebianImages> {
  const key = `debian-${DEBIAN_SUITE}-r${RECIPE}`;
  const dir = join(benchCacheDir(), key);
  const layoutDir = join(dir, 'layout');
  const manifestFile = join(dir, 'images.json');
  if (existsSync(manifestFile)) {
    const imgs = JSON.parse(await readFile(manifestFile, 'utf8')) as { layered: BuiltImage; flat: BuiltImage };
    return { layoutDir, ...imgs };
  }
  if (process.getuid?.() !== 0) throw new Error('building the Debian bench image needs root (debootstrap, chroot, overlay mounts)');
  await mkdir(dir, { recursive: true });
  const work = join(dir, 'work');
  log(`debian image: debootstrap ${DEBIAN_SUITE} + apt-get install ${DEBIAN_PACKAGES.join(' ')} into ${work} (cached in ${dir})`);
  const t0 = Date.now();
  const r = await run('sh', [join(REPO, 'bench', 'lib', 'debian-rootfs.sh'), work, DEBIAN_SUITE, mirror(), ...DEBIAN_PACKAGES], { timeoutMs: 1_200_000 });
  if (r.code !== 0) throw new Error(`debian-rootfs.sh exited ${r.code ?? r.signal}: ${r.stderr.slice(-1500)}`);
  const tmpLayout = join(dir, 'layout.tmp');
  await rm(tmpLayout, { recursive: true, force: true });
  const layered = await writeOciImage(tmpLayout, {
    name: LAYERED,
    layers: [{ tarFile: join(work, 'base.tar') }, { tarFile: join(work, 'apt.tar') }],
    config: { Cmd: ['bash'] },
  });
  const flat = await writeOciImage(tmpLayout, { name: FLAT, layers: [{ tarFile: join(work, 'flat.tar') }], config: { Cmd: ['bash'] } });
  await rm(layoutDir, { recursive: true, force: true });
  await rename(tmpLayout, layoutDir);
  const fix = (i: BuiltImage): BuiltImage => ({ ...i, layoutDir });
  await writeFile(manifestFile, JSON.stringify({ layered: fix(layered), flat: fix(flat) }));
  await rm(work, { recursive: true, force: true });
  const mb = (i: BuiltImage) => (i.layers.reduce((a, l) => a + l.size, 0) / 1e6).toFixed(1);
  log(`debian image: built in ${((Date.now() - t0) / 1000).toFixed(0)} s: layered ${mb(layered)} MB gzip, flat ${mb(flat)} MB gzip`);
  return { layoutDir, layered: fix(layered), flat: fix(flat) };
}
