/**
 * `docker diff` for berth's snapshots (berth-rootfs changes): a real container's changes on the
 * overlay snapshotter (its upper dir over the image: Docker's overlay2 rules, opaque directories
 * included), and a tree against its parent on the native snapshotter (Docker's ChangesDirs rules).
 */
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RootfsTool } from '../../src/rootfs';
import { NativeSnapshotter, OverlaySnapshotter } from '../../src/snapshotter';
import { makeBusyboxRootfs } from '../helpers/busybox-rootfs';
import { describeWith, itWith, requireRoot } from '../helpers/requires';
import { useHarness } from '../native/harness';

const itRoot = itWith(requireRoot());
const tool = new RootfsTool();
const h = useHarness();

let dir: string;

/** The image: busybox plus a small /data tree. */
async function fillImage(root: string): Promise<void> {
  const bb = await makeBusyboxRootfs(dir);
  await cp(bb.rootfs, root, { recursive: true, verbatimSymlinks: true });
  await bb.remove();
  await mkdir(join(root, 'data/sub/deeper'), { recursive: true });
  await writeFile(join(root, 'data/hello'), 'hello\n');
  await writeFile(join(root, 'data/sub/deeper/f'), 'f');
}

const show = (cs: Array<{ kind: string; path: string }>) => cs.map((c) => `${c.kind} ${c.path}`);

/** What both containers below changed, in both snapshotters' reports. */
const ADDED = ['A /added', 'A /added/deep', 'A /added/deep/f', 'C /bin', 'D /bin/ls', 'C /data'];
const ETC = ['C /etc', 'A /etc/new', 'C /etc/passwd'];

describeWith(requireRoot())('diff', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-changes-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  itRoot('overlay: the changes of a container that ran, from its upper dir', async () => {
    const sn = await OverlaySnapshotter.open(join(dir, 'overlay'));
    try {
      const base = await sn.prepare('base-a');
      await fillImage(base[0]!.source);
      await sn.commit('base', 'base-a');
      const mounts = await sn.prepare('ctr', 'base');
      const rootfs = await mkdtemp(join(dir, 'rootfs-'));
      const script =
        'echo new > /etc/new; echo x >> /etc/passwd; rm /bin/ls; rm -rf /data/sub; mkdir /data/sub; echo y > /data/sub/f; mkdir -p /added/deep; touch /added/deep/f';
      const r = await h.run('diff', ['sh', '-c', script], {
        extra: { rootfs, rootfsMounts: mounts.map((m) => ({ type: m.type, source: m.source, options: m.options })) },
      });
      expect((await r.finish()).status).toBe(0);
      const opt = (k: string) => mounts[0]!.options.find((o) => o.startsWith(`${k}=`))!.slice(k.length + 1);
      const changes = await tool.changes({ kind: 'overlay', upper: opt('upperdir'), lowers: opt('lowerdir').split(':') });
      // /data/sub removed and made again: an opaque directory over the image's.
      expect(show(changes)).toEqual([...ADDED, 'D /data/sub', 'A /data/sub/f', ...ETC]);
    } finally {
      await sn.close();
    }
  });

  itRoot('native: a tree against its parent', async () => {
    const sn = await NativeSnapshotter.open(join(dir, 'native'));
    try {
      const base = await sn.prepare('base-a');
      const parent = base[0]!.source;
      await fillImage(parent);
      await sn.commit('base', 'base-a');
      const ctr = (await sn.prepare('ctr', 'base'))[0]!.source;
      await writeFile(join(ctr, 'etc/new'), 'new\n');
      await writeFile(join(ctr, 'etc/passwd'), 'changed\n');
      await rm(join(ctr, 'bin/ls'));
      await chmod(join(ctr, 'data/hello'), 0o600);
      await rm(join(ctr, 'data/sub'), { recursive: true });
      await mkdir(join(ctr, 'added/deep'), { recursive: true });
      await writeFile(join(ctr, 'added/deep/f'), '');
      const changes = await tool.changes({ kind: 'compare', dir: ctr, parent });
      expect(show(changes)).toEqual([...ADDED, 'C /data/hello', 'D /data/sub', ...ETC]);
      expect(await tool.changes({ kind: 'compare', dir: parent, parent })).toEqual([]);
    } finally {
      await sn.close();
    }
  });
});
