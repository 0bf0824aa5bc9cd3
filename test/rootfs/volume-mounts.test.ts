/**
 * Mounted local volumes (`-o type=tmpfs -o device=tmpfs -o o=size=1m`, `-o type=none -o o=bind
 * -o device=/host/dir`), as Docker's local driver mounts them: on the volume's directory while a
 * container using it runs, shared by all of them, unmounted after the last; a copy-up mounts it
 * just for the copy; a leftover mount is detached at open and before a removal (which never
 * deletes what a bind showed).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { background } from '../../src/core/context';
import { MetadataDB } from '../../src/metadata/db';
import { VolumeRecords } from '../../src/metadata/volumes';
import { RootfsTool } from '../../src/rootfs';
import { LocalVolumes } from '../../src/volumes';
import { expectClean, snapshot, type SystemSnapshot } from '../helpers/cleanup';
import { itWith, requireRoot } from '../helpers/requires';

const itRoot = itWith(requireRoot());
const ctx = background('default');
const tool = new RootfsTool();

let dir: string;
let db: MetadataDB;
let records: VolumeRecords;
let vols: LocalVolumes;
let before: SystemSnapshot;

/** The mount on `path`: [fstype, super options], or undefined. */
function mountOf(path: string): [string, string] | undefined {
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = l.split(' ');
    if (f[4] !== path) continue;
    const dash = f.indexOf('-');
    return [f[dash + 1]!, f[dash + 3]!];
  }
  return undefined;
}

async function open(): Promise<void> {
  db = await MetadataDB.open(join(dir, 'meta'));
  records = new VolumeRecords(db);
  vols = await LocalVolumes.open({ root: join(dir, 'volumes'), records, rootfs: tool });
}

beforeEach(async () => {
  before = snapshot();
  dir = await mkdtemp(join(tmpdir(), 'berth-volmount-'));
  await open();
});

afterEach(async () => {
  await db.close();
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const p = l.split(' ')[4];
    if (p?.startsWith(dir)) await tool.umountVolume(p);
  }
  await rm(dir, { recursive: true, force: true });
  await expectClean(before);
});

describe('mounted local volumes', () => {
  itRoot('tmpfs: mounted while a user runs, shared by users, gone after the last', async () => {
    await vols.create(ctx, { name: 'scratch', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=0750' } });
    await vols.use(ctx, 'c1', [{ name: 'scratch' }]);
    await vols.use(ctx, 'c2', [{ name: 'scratch' }]);
    const path = vols.dataDir('default', 'scratch');
    expect(mountOf(path)).toBeUndefined();
    expect(await vols.mount(ctx, 'scratch', 'c1')).toBe(path);
    const m = mountOf(path);
    expect(m?.[0]).toBe('tmpfs');
    expect(m?.[1]).toContain('size=1024k');
    expect(m?.[1]).toContain('mode=750');
    await writeFile(join(path, 'shared'), 'from c1');
    expect(await vols.mount(ctx, 'scratch', 'c2')).toBe(path);
    expect(await readFile(join(path, 'shared'), 'utf8')).toBe('from c1');
    await vols.unmount(ctx, 'scratch', 'c1');
    expect(mountOf(path)?.[0]).toBe('tmpfs');
    await vols.unmount(ctx, 'scratch', 'c2');
    expect(mountOf(path)).toBeUndefined();
    expect(await readdir(path)).toEqual([]);
    await vols.unmount(ctx, 'scratch', 'c2'); // again: nothing to do
  });

  itRoot('a bind of a host directory gets the copy-up through a mount made just for it', async () => {
    const host = await mkdtemp(join(dir, 'host-'));
    const image = await mkdtemp(join(dir, 'image-'));
    await writeFile(join(image, 'seed'), 'from the image');
    await vols.create(ctx, { name: 'hostdir', options: { type: 'none', device: host, o: 'bind' } });
    await vols.use(ctx, 'c1', [{ name: 'hostdir' }]);
    expect(await vols.populate(ctx, 'hostdir', { kind: 'dir', path: image }, '/')).toMatchObject({ copied: true });
    expect(await readFile(join(host, 'seed'), 'utf8')).toBe('from the image');
    expect(mountOf(vols.dataDir('default', 'hostdir'))).toBeUndefined();
    // Mounted by its user, the bind shows the host directory.
    const path = await vols.mount(ctx, 'hostdir', 'c1');
    expect(await readdir(path)).toEqual(['seed']);
    await vols.unmount(ctx, 'hostdir', 'c1');
  });

  itRoot('a mount left behind is detached at open, and before a removal, which keeps the bound directory’s content', async () => {
    const host = await mkdtemp(join(dir, 'host-'));
    await writeFile(join(host, 'precious'), 'keep me');
    await vols.create(ctx, { name: 'bound', options: { type: 'none', device: host, o: 'bind,ro' } });
    await vols.use(ctx, 'c1', [{ name: 'bound' }]);
    const path = await vols.mount(ctx, 'bound', 'c1');
    expect(mountOf(path)?.[1]).toBeDefined();
    await expect(writeFile(join(path, 'x'), 'x')).rejects.toThrow(/read-only/);
    // The container's exit was recorded while the unmount never happened (a crash in between).
    await records.setMounted(ctx, 'bound', 'c1', false);
    await db.close();
    await open();
    expect(mountOf(path)).toBeUndefined();
    // A leftover mount at removal time: detached first, so the host directory is not emptied.
    await vols.mount(ctx, 'bound', 'c1');
    await records.setMounted(ctx, 'bound', 'c1', false);
    await vols.release(ctx, 'c1');
    await vols.remove(ctx, 'bound');
    expect(mountOf(path)).toBeUndefined();
    expect(await readFile(join(host, 'precious'), 'utf8')).toBe('keep me');
  });
});
