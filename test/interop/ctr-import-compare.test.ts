/**
 * Issue 3 acceptance: `ctr images import` of an OCI archive and of a `docker save` style archive
 * into berthd and into a private real containerd 1.6; the mounted top snapshots must list the same
 * entries. Each format goes into its own namespace, so each import really unpacks (a chain already
 * unpacked in a namespace is not unpacked again).
 *
 * The one normalisation (compareUnpacked → diffTrees): dirs that a layer changes without an entry
 * get the unpack's wall-clock mtime on both daemons; such recent mtimes compare equal.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr } from '../helpers/ctr';
import { startContainerd, ok, type Containerd } from '../helpers/containerd';
import { startProcess } from '../helpers/daemon';
import { buildImages, busyboxImage, hostileFeaturesImage, type BuiltImageFiles } from '../helpers/images';
import { compareUnpacked, unpackedTree } from '../helpers/unpack-compare';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('ctr', 'containerd')];
const itRoot = itWith(...NEEDS);

describe('ctr images import (OCI and docker-save archives): berthd unpacks like containerd', () => {
  let work: string;
  let built: BuiltImageFiles;
  let berth: Awaited<ReturnType<typeof startProcess>> | undefined;
  let ctrd: Containerd | undefined;

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    work = await mkdtemp(join(tmpdir(), 'berth-import-cmp-'));
    built = await buildImages(work, [busyboxImage('docker.io/library/busybox:import'), hostileFeaturesImage('docker.io/library/hostile:import')]);
    berth = await startProcess();
    ctrd = await startContainerd();
  }, 180000);

  afterAll(async () => {
    await berth?.stop();
    await ctrd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 60000);

  for (const format of ['oci', 'docker'] as const) {
    itRoot(
      `${format} archive: both images import, and each top snapshot lists the same entries on both daemons`,
      async () => {
        const archive = format === 'oci' ? built.ociArchive : built.dockerArchive;
        const ns = `import-${format}`;
        const b = await ctr(berth!.dirs.address, ['images', 'import', archive], { namespace: ns, timeoutMs: 120000 });
        expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: '' });
        ok(await ctrd!.ctr(['images', 'import', archive], { namespace: ns, timeoutMs: 120000 }), 'containerd import');
        // Same image names on both sides (docker archives name images by their familiar RepoTags).
        const names = async (address: string) => (await ctr(address, ['images', 'ls', '-q'], { namespace: ns })).stdout.split('\n').filter(Boolean).sort();
        expect(await names(berth!.dirs.address)).toEqual(await names(ctrd!.address));
        expect(await names(berth!.dirs.address)).toEqual(['docker.io/library/busybox:import', 'docker.io/library/hostile:import']);
        for (const img of built.images) {
          const diffIds = img.layers.map((l) => l.diffId);
          const diffs = await compareUnpacked(
            { address: berth!.dirs.address, label: 'berth', namespace: ns },
            { address: ctrd!.address, label: 'containerd', namespace: ns },
            diffIds,
          );
          expect({ image: img.name, diffs }).toEqual({ image: img.name, diffs: [] });
          const tree = await unpackedTree({ address: berth!.dirs.address, label: 'berth', namespace: ns }, diffIds);
          expect(tree.find((e) => e.path === 'bin/busybox')?.type).toBe('file');
          if (img.name.includes('hostile')) {
            const paths = new Set(tree.map((e) => e.path));
            expect(paths.has('a/delete-me') || paths.has('deldir/child') || paths.has('opq/old1')).toBe(false);
            expect(tree.find((e) => e.path === 'deldir/reborn')?.type).toBe('file');
          }
        }
      },
      240000,
    );
  }
});
