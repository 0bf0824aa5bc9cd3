/**
 * A container's volumes through its life without the engine around them (src/engine/mounts):
 * created on first use, the image's VOLUME an anonymous volume, the image's content copied into
 * new volumes, mounted into a real container (berth-helper) that reads and writes them, and after
 * `rm -v` the anonymous volume is gone while the named one keeps its content.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { background } from '../../src/core/context';
import { parseVolumeFlag } from '../../src/engine/mounts/parse';
import { inspectMounts, mountVolumes, prepareMounts, releaseVolumes, unmountVolumes } from '../../src/engine/mounts/prepare';
import { MetadataDB } from '../../src/metadata/db';
import { VolumeRecords } from '../../src/metadata/volumes';
import { RootfsTool } from '../../src/rootfs';
import { OverlaySnapshotter } from '../../src/snapshotter';
import { LocalVolumes } from '../../src/volumes';
import { makeBusyboxRootfs } from '../helpers/busybox-rootfs';
import { failure } from '../helpers/errors';
import { itWith, requireRoot } from '../helpers/requires';
import { useHarness } from '../native/harness';

const itRoot = itWith(requireRoot());
const h = useHarness();
const ctx = background('default');
const tool = new RootfsTool();

itRoot('volumes from create to rm -v: copy-up, mounted into a running container, named ones survive', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-ctrmounts-'));
  const sn = await OverlaySnapshotter.open(join(dir, 'snapshots'));
  const db = await MetadataDB.open(join(dir, 'meta'));
  try {
    const vols = await LocalVolumes.open({ root: join(dir, 'volumes'), records: new VolumeRecords(db), rootfs: tool });
    const base = await sn.prepare('base-a');
    const bb = await makeBusyboxRootfs(dir);
    await cp(bb.rootfs, base[0]!.source, { recursive: true, verbatimSymlinks: true });
    await bb.remove();
    await mkdir(join(base[0]!.source, 'data'));
    await writeFile(join(base[0]!.source, 'data/seed'), 'from the image\n');
    await sn.commit('base', 'base-a');
    const mounts = await sn.prepare('ctr', 'base');
    const host = join(dir, 'host-made');
    const deps = { volumes: vols, exists: existsSync, makeDir: (p: string) => mkdir(p, { recursive: true, mode: 0o755 }).then(() => undefined) };

    const specs = await prepareMounts(
      ctx,
      deps,
      'c1',
      { imageVolumes: ['/data'], binds: [parseVolumeFlag('etcvol:/etc'), parseVolumeFlag(`${host}:/hostbind`)] },
      { kind: 'mounts', mounts, tmpdir: dir, readonly: true },
    );
    expect(existsSync(host)).toBe(true); // -v creates a missing bind source, as Docker does
    const anon = specs.find((m) => m.target === '/data')!.source;
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect(await readFile(join(vols.dataDir('default', anon), 'seed'), 'utf8')).toBe('from the image\n');
    expect(await readFile(join(vols.dataDir('default', 'etcvol'), 'passwd'), 'utf8')).toContain('root:x:0:0');
    expect(inspectMounts(specs, (v) => vols.dataDir('default', v)).find((m) => m.Destination === '/etc')).toEqual({
      Type: 'volume',
      Name: 'etcvol',
      Driver: 'local',
      Source: vols.dataDir('default', 'etcvol'),
      Destination: '/etc',
      Mode: '',
      RW: true,
      Propagation: '',
    });

    const oci = await mountVolumes(ctx, vols, 'c1', specs, Number);
    const rootfs = await mkdtemp(join(dir, 'rootfs-'));
    const r = await h.run('vols', ['sh', '-c', 'cat /data/seed; echo written > /data/out; echo kept > /etc/kept; echo host > /hostbind/f'], {
      tweak: (s) => s.mounts!.push(...oci),
      extra: { rootfs, rootfsMounts: mounts.map((m) => ({ type: m.type, source: m.source, options: m.options })) },
    });
    expect(await r.finish()).toMatchObject({ status: 0, out: 'from the image\n' });
    await unmountVolumes(ctx, vols, 'c1', specs);
    expect(await readFile(join(vols.dataDir('default', anon), 'out'), 'utf8')).toBe('written\n');
    expect(await readFile(join(host, 'f'), 'utf8')).toBe('host\n');
    expect((await failure(vols.remove(ctx, 'etcvol')))[0]).toBe('Conflict'); // still the container's

    expect(await releaseVolumes(ctx, vols, 'c1', true)).toEqual([anon]);
    expect(existsSync(vols.dataDir('default', anon))).toBe(false);
    expect(await readFile(join(vols.dataDir('default', 'etcvol'), 'kept'), 'utf8')).toBe('kept\n');
    // A new container on the same named volume sees the content (no copy-up into a non-empty volume).
    const again = await prepareMounts(ctx, deps, 'c2', { binds: [parseVolumeFlag('etcvol:/etc')] }, { kind: 'mounts', mounts, tmpdir: dir, readonly: true });
    expect(again.map((m) => m.source)).toEqual(['etcvol']);
    expect(await readFile(join(vols.dataDir('default', 'etcvol'), 'kept'), 'utf8')).toBe('kept\n');
    await releaseVolumes(ctx, vols, 'c2', true);
  } finally {
    await db.close();
    await sn.close();
    await rm(dir, { recursive: true, force: true });
  }
});
