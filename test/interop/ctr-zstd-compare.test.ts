/**
 * zstd layers (`application/vnd.oci.image.layer.v1.tar+zstd`), compressed in the test with the
 * `zstd` CLI: `ctr images pull --plain-http` from a real loopback registry and `ctr images import`
 * of an OCI archive, into berthd and into a private real containerd 1.6 (whose Diff service
 * decompresses zstd itself); the mounted top snapshots must list the same entries. The image is
 * the hostile-features one with its base layer gzip and its upper layers zstd, so both codecs and
 * whiteouts over a zstd layer are exercised; berthd extracts the layers while ctr still writes
 * them (src/diff/staging.ts) as well as through a plain Diff/Apply (import).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr, ctrPullNoise as ctrNoise } from '../helpers/ctr';
import { startContainerd, ok, type Containerd } from '../helpers/containerd';
import { startProcess } from '../helpers/daemon';
import { hostileFeaturesImage } from '../helpers/images';
import { MEDIA_LAYER_GZIP, MEDIA_LAYER_ZSTD, type BuiltImage, writeOciArchive, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, type Registry } from '../helpers/registry';
import { compareUnpacked, unpackedTree } from '../helpers/unpack-compare';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('ctr', 'containerd', 'docker-registry', 'skopeo', 'zstd')];
const itRoot = itWith(...NEEDS);

describe('zstd layers: berthd unpacks them like containerd', () => {
  let work: string;
  let registry: Registry | undefined;
  let berth: Awaited<ReturnType<typeof startProcess>> | undefined;
  let ctrd: Containerd | undefined;
  let img: BuiltImage;
  let ref: string;
  let archive: string;

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    work = await mkdtemp(join(tmpdir(), 'berth-zstd-cmp-'));
    const layout = join(work, 'layout');
    const spec = hostileFeaturesImage('docker.io/library/hostile:zstd');
    spec.layers = spec.layers.map((l, i) => ({ ...l, compression: i === 0 ? 'gzip' : 'zstd' }));
    img = await writeOciImage(layout, spec);
    registry = await startRegistry();
    ref = await pushImage(registry, layout, img.refName, 'library/hostile:zstd');
    archive = join(work, 'hostile-zstd.tar');
    await writeOciArchive(layout, archive);
    berth = await startProcess();
    ctrd = await startContainerd();
  }, 180000);

  afterAll(async () => {
    await berth?.stop();
    await ctrd?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 60000);

  const check = async (ns: string) => {
    // Not vacuous: the image really has zstd layers (and one gzip one).
    expect(img.layers.map((l) => l.mediaType)).toEqual([MEDIA_LAYER_GZIP, ...img.layers.slice(1).map(() => MEDIA_LAYER_ZSTD)]);
    const diffIds = img.layers.map((l) => l.diffId);
    const diffs = await compareUnpacked(
      { address: berth!.dirs.address, label: 'berth', namespace: ns },
      { address: ctrd!.address, label: 'containerd', namespace: ns },
      diffIds,
    );
    expect(diffs).toEqual([]);
    const byPath = new Map((await unpackedTree({ address: berth!.dirs.address, label: 'berth', namespace: ns }, diffIds)).map((e) => [e.path, e]));
    expect(byPath.get('bin/busybox')?.type).toBe('file');
    expect(byPath.has('a/delete-me')).toBe(false);
    expect(byPath.get('file-to-dir')?.type).toBe('dir');
    expect(byPath.get('data/fresh-link')?.hardlinkOf).toBe('data/fresh');
  };

  itRoot(
    'ctr images pull: same tree on both daemons',
    async () => {
      const ns = 'zstd-pull';
      const b = await ctr(berth!.dirs.address, ['images', 'pull', '--plain-http', ref], { namespace: ns, timeoutMs: 120000 });
      expect({ code: b.code, stderr: ctrNoise(b.stderr) }).toEqual({ code: 0, stderr: '' });
      ok(await ctrd!.ctr(['images', 'pull', '--plain-http', ref], { namespace: ns, timeoutMs: 120000 }), 'containerd pull');
      await check(ns);
    },
    240000,
  );

  itRoot(
    'ctr images import of an OCI archive: same tree on both daemons',
    async () => {
      const ns = 'zstd-import';
      const b = await ctr(berth!.dirs.address, ['images', 'import', archive], { namespace: ns, timeoutMs: 120000 });
      expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: '' });
      ok(await ctrd!.ctr(['images', 'import', archive], { namespace: ns, timeoutMs: 120000 }), 'containerd import');
      await check(ns);
    },
    240000,
  );
});
