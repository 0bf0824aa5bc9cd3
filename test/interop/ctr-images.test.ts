import { readdir, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr } from '../helpers/ctr';
import { startProcess } from '../helpers/daemon';
import { type BuiltImage, writeOciArchive, writeOciImage } from '../helpers/oci';
import { itWith, requireTool } from '../helpers/requires';

const itCtr = itWith(requireTool('ctr'));
const NAME = 'docker.io/library/berth-gc:1';
const TAG = 'docker.io/library/berth-gc:tagged';

/** `ctr images ls` rows as {name, digest, size, platforms}. */
function parseImages(stdout: string) {
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => {
      const [name, type, digest, size, unit, platforms] = l.trim().split(/\s+/);
      return { name, type, digest, size: `${size} ${unit}`, platforms };
    });
}

describe('ctr images against berthd', () => {
  let d: Awaited<ReturnType<typeof startProcess>>;
  let addr: string;
  let work: string;
  let img: BuiltImage;
  let archive: string;
  beforeAll(async () => {
    d = await startProcess();
    addr = d.dirs.address;
    work = await mkdtemp(join(tmpdir(), 'berth-ctr-images-'));
    img = await writeOciImage(join(work, 'layout'), {
      name: NAME,
      layers: [{ entries: [{ path: 'etc/hello', type: 'file', content: 'hello from berth\n'.repeat(1000) }] }, { entries: [{ path: 'bin', type: 'dir' }] }],
    });
    archive = join(work, 'image.tar');
    await writeOciArchive(img.layoutDir, archive);
  });
  afterAll(async () => {
    await d.stop();
    await rm(work, { recursive: true, force: true });
  });

  const blobsOnDisk = async () => (await readdir(join(d.dirs.root, 'content', 'blobs', 'sha256')).catch(() => [] as string[])).sort();
  const contentLs = async (ns?: string) => (await ctr(addr, ['content', 'ls', '-q'], { namespace: ns })).stdout.trim().split('\n').filter(Boolean).sort();
  const ctrLeased = (args: string[], ns?: string) => ctr(addr, args, { namespace: ns });
  const importImage = (file: string, ns?: string) => ctrLeased(['images', 'import', '--no-unpack', file], ns);
  /** A synchronous collection through ctr: create a lease, `leases rm --sync` it. */
  const syncGc = async (ns?: string) => {
    const id = (await ctr(addr, ['leases', 'create'], { namespace: ns })).stdout.trim();
    expect((await ctr(addr, ['leases', 'rm', '--sync', id], { namespace: ns })).code).toBe(0);
  };
  const allBlobs = () => [img.manifest.digest, img.config.digest, ...img.layers.map((l) => l.digest)].sort();

  itCtr('import --no-unpack, ls (size, platform), tag, export round trip, rm, rm --sync leaves no unreferenced blob', async () => {
    const imp = await importImage(archive);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);

    const ls = await ctr(addr, ['images', 'ls']);
    expect(ls.code).toBe(0);
    const rows = parseImages(ls.stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: NAME, type: 'application/vnd.oci.image.manifest.v1+json', digest: img.manifest.digest, platforms: 'linux/amd64' });
    const total = img.config.size + img.manifest.size + img.layers.reduce((n, l) => n + l.size, 0);
    expect(rows[0]!.size).not.toMatch(/^0\.0 B/);
    expect(ls.stdout).toMatch(new RegExp(`${(total / 1024).toFixed(1).replace('.', '\\.')} KiB|${total} B`));
    // the archive's index.json was ingested too; nothing references it once the import lease is gone
    expect(await contentLs()).toEqual(expect.arrayContaining(allBlobs()));
    await syncGc();
    expect(await contentLs()).toEqual(allBlobs());

    const tag = await ctrLeased(['images', 'tag', NAME, TAG]);
    expect(tag.code).toBe(0);
    expect(parseImages((await ctr(addr, ['images', 'ls'])).stdout).map((r) => [r.name, r.digest])).toEqual([
      [NAME, img.manifest.digest],
      [TAG, img.manifest.digest],
    ]);

    // label (Images/Update with a labels.<key> mask) and list filters
    const lbl = await ctr(addr, ['images', 'label', TAG, 'berth.test/kind=tagged']);
    expect(lbl.code).toBe(0);
    expect(lbl.stdout).toMatch(/berth\.test\/kind=tagged/);
    expect((await ctr(addr, ['images', 'ls', '-q', 'labels."berth.test/kind"==tagged'])).stdout.trim()).toBe(TAG);
    expect((await ctr(addr, ['images', 'ls', '-q', `name==${NAME}`])).stdout.trim()).toBe(NAME);
    expect((await ctr(addr, ['images', 'ls', '-q', `target.digest==${img.manifest.digest}`])).stdout.trim().split('\n')).toEqual([NAME, TAG]);

    // export, then import the export into another namespace: same image, same blobs
    const out = join(work, 'export.tar');
    const exp = await ctr(addr, ['images', 'export', out, NAME]);
    expect(exp.stderr).toBe('');
    expect(exp.code).toBe(0);
    const imp2 = await importImage(out, 'roundtrip');
    expect(imp2.stderr).toBe('');
    expect(imp2.code).toBe(0);
    const ls2 = parseImages((await ctr(addr, ['images', 'ls'], { namespace: 'roundtrip' })).stdout);
    expect(ls2.map((r) => [r.name, r.digest, r.platforms])).toEqual([[NAME, img.manifest.digest, 'linux/amd64']]);
    await syncGc('roundtrip');
    expect(await contentLs('roundtrip')).toEqual(allBlobs());

    // rm (async GC): the tag goes, content stays (the other name holds it)
    expect((await ctr(addr, ['images', 'rm', TAG])).code).toBe(0);
    expect(parseImages((await ctr(addr, ['images', 'ls'])).stdout).map((r) => r.name)).toEqual([NAME]);
    expect(await contentLs()).toEqual(allBlobs());

    // rm --sync: nothing unreferenced left in default; disk keeps what `roundtrip` still references
    const rmSync = await ctr(addr, ['images', 'rm', '--sync', NAME]);
    expect(rmSync.code).toBe(0);
    expect(await contentLs()).toEqual([]);
    expect(await blobsOnDisk()).toEqual(allBlobs().map((x) => x.slice(7)));
    expect((await ctr(addr, ['images', 'rm', '--sync', NAME], { namespace: 'roundtrip' })).code).toBe(0);
    expect(await contentLs('roundtrip')).toEqual([]);
    expect(await blobsOnDisk()).toEqual([]);
    expect((await ctr(addr, ['images', 'ls', '-q'])).stdout.trim()).toBe('');
    expect((await ctr(addr, ['images', 'rm', NAME])).stderr).toMatch(/not found/);
  });
});
