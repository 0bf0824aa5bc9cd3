/**
 * Issue 3 acceptance: `ctr images pull --plain-http` from a real loopback registry into berthd, and
 * the same pull into a private real containerd 1.6; a read-only view of each top snapshot, mounted
 * on the host, must list the same entries (type, mode, uid, gid, size, link target, mtime, content
 * hash, rdev, hardlink groups, xattrs).
 *
 * The one normalisation (in compareUnpacked → diffTrees, nothing else is ignored): a directory that
 * a layer changes without carrying an entry for it (e.g. a parent of a whiteout) gets the wall-clock
 * mtime of the unpack on both daemons; such "recent" mtimes (the built images only use fixed old
 * dates) compare equal, since they can never agree to the second.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr, ctrPullNoise as ctrNoise } from '../helpers/ctr';
import { startContainerd, ok, type Containerd } from '../helpers/containerd';
import { startProcess } from '../helpers/daemon';
import { busyboxImage, hostileFeaturesImage } from '../helpers/images';
import { type BuiltImage, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, type Registry } from '../helpers/registry';
import { compareUnpacked, unpackedTree } from '../helpers/unpack-compare';
import { mountsUnder } from '../helpers/mounts';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('ctr', 'containerd', 'docker-registry', 'skopeo')];
const itRoot = itWith(...NEEDS);

describe('ctr images pull --plain-http: berthd unpacks like containerd', () => {
  let work: string;
  let registry: Registry | undefined;
  let berth: Awaited<ReturnType<typeof startProcess>> | undefined;
  let ctrd: Containerd | undefined;
  const images: { img: BuiltImage; ref: string }[] = [];

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    work = await mkdtemp(join(tmpdir(), 'berth-pull-cmp-'));
    const layout = join(work, 'layout');
    registry = await startRegistry();
    for (const [spec, repo] of [
      [busyboxImage('docker.io/library/busybox:pull'), 'library/busybox:pull'],
      [hostileFeaturesImage('docker.io/library/hostile:pull'), 'library/hostile:pull'],
    ] as const) {
      const img = await writeOciImage(layout, spec);
      images.push({ img, ref: await pushImage(registry, layout, img.refName, repo) });
    }
    berth = await startProcess();
    ctrd = await startContainerd();
  }, 180000);

  afterAll(async () => {
    await berth?.stop();
    await ctrd?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 60000);

  for (const which of ['busybox', 'hostile'] as const) {
    itRoot(
      `${which}: pull into both daemons, the mounted top snapshots list the same entries`,
      async () => {
        const { img, ref } = images[which === 'busybox' ? 0 : 1];
        const b = await ctr(berth!.dirs.address, ['images', 'pull', '--plain-http', ref], { timeoutMs: 120000 });
        expect({ code: b.code, stderr: ctrNoise(b.stderr) }).toEqual({ code: 0, stderr: '' });
        ok(await ctrd!.ctr(['images', 'pull', '--plain-http', ref], { timeoutMs: 120000 }), 'containerd pull');
        const diffIds = img.layers.map((l) => l.diffId);
        // Both daemons report the image unpacked (ctr checked every Apply digest against diff_ids).
        const check = await ctr(berth!.dirs.address, ['images', 'check'], { timeoutMs: 30000 });
        expect(check.stdout).toMatch(new RegExp(`${ref.replace(/[.:/]/g, '\\$&')}\\s.*complete`));
        const diffs = await compareUnpacked({ address: berth!.dirs.address, label: 'berth' }, { address: ctrd!.address, label: 'containerd' }, diffIds);
        expect(diffs).toEqual([]);
        // Not vacuous: the trees hold what the image promises.
        const tree = await unpackedTree({ address: berth!.dirs.address, label: 'berth' }, diffIds);
        const byPath = new Map(tree.map((e) => [e.path, e]));
        expect(byPath.get('bin/busybox')?.type).toBe('file');
        if (which === 'hostile') {
          expect(byPath.has('a/delete-me')).toBe(false);
          expect(byPath.has('deldir/child')).toBe(false);
          expect([...byPath.keys()].filter((p) => p.startsWith('opq/'))).toEqual(['opq/new']);
          expect(byPath.get('file-to-dir')?.type).toBe('dir');
          expect(byPath.get('dir-to-file')?.type).toBe('file');
          expect(byPath.get('data/fresh-link')?.hardlinkOf).toBe('data/fresh');
          expect(byPath.get('data/abs-symlink')?.linkTarget).toBe('/data/target');
          expect(byPath.get('dev/null-ish')).toMatchObject({ type: 'char', rdev: '1:3' });
          expect(byPath.get('usr/bin/suid')?.mode).toBe(0o4755);
          expect(byPath.get('data/xattr')?.xattrs?.['user.berth']).toBe(Buffer.from('hello').toString('hex'));
        }
        // The views are gone and unmounted again.
        expect(mountsUnder(tmpdir()).filter((m) => m.includes('berth-view-'))).toEqual([]);
      },
      240000,
    );
  }
});
