/**
 * `ctr images pull` through berthd's pre-extraction (src/diff/staging.ts): layers are extracted as
 * ctr commits them and Diff/Apply adopts the staged trees; ctr still checks every Apply digest
 * against the config's diff_ids, so an image whose config lies about a diff_id is refused.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr } from '../helpers/ctr';
import { startProcess } from '../helpers/daemon';
import { blobPath, type BuiltImage, pseudoRandom, writeOciImage } from '../helpers/oci';
import { pushImage, startRegistry, type Registry } from '../helpers/registry';
import { withImageRootfs } from '../helpers/snapshot-view';
import { itWith, met, requireRoot, requireTool } from '../helpers/requires';

const NEEDS = [requireRoot(), requireTool('ctr', 'docker-registry', 'skopeo')];
const itRoot = itWith(...NEEDS);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Rewrites the image's config with a wrong last diff_id (new config, manifest and index entry). */
async function forgeDiffId(img: BuiltImage): Promise<void> {
  const layout = img.layoutDir;
  const config = JSON.parse(await readFile(blobPath(layout, img.config.digest), 'utf8')) as { rootfs: { diff_ids: string[] } };
  config.rootfs.diff_ids[config.rootfs.diff_ids.length - 1] = sha(Buffer.from('not this layer'));
  const cbuf = Buffer.from(JSON.stringify(config));
  await writeFile(blobPath(layout, sha(cbuf)), cbuf);
  const manifest = JSON.parse(await readFile(blobPath(layout, img.manifest.digest), 'utf8')) as { config: { digest: string; size: number } };
  manifest.config = { ...manifest.config, digest: sha(cbuf), size: cbuf.length };
  const mbuf = Buffer.from(JSON.stringify(manifest));
  await writeFile(blobPath(layout, sha(mbuf)), mbuf);
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; size: number; annotations?: Record<string, string> }>;
  };
  for (const m of index.manifests) {
    if (m.annotations?.['org.opencontainers.image.ref.name'] === img.refName) Object.assign(m, { digest: sha(mbuf), size: mbuf.length });
  }
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
}

describe('ctr images pull: staged layers', () => {
  let work: string;
  let registry: Registry | undefined;
  let berth: Awaited<ReturnType<typeof startProcess>> | undefined;
  const layers = (seed: number) => [
    {
      entries: [
        { path: 'bin', type: 'dir' as const },
        { path: 'bin/tool', type: 'file' as const, content: pseudoRandom(2 << 20, seed), mode: 0o755 },
        { path: 'etc', type: 'dir' as const },
        { path: 'etc/conf', type: 'file' as const, content: 'v1' },
      ],
    },
    {
      entries: [
        { path: 'etc', type: 'dir' as const },
        { path: 'etc/conf', type: 'whiteout' as const },
        { path: 'etc/new', type: 'file' as const, content: 'v2' },
        { path: 'data', type: 'dir' as const },
        { path: 'data/blob', type: 'file' as const, content: pseudoRandom(3 << 20, seed + 1) },
        { path: 'data/link', type: 'hardlink' as const, linkname: 'data/blob' },
      ],
    },
  ];

  beforeAll(async () => {
    if (!met(...NEEDS)) return;
    work = await mkdtemp(join(tmpdir(), 'berth-staged-pull-'));
    registry = await startRegistry();
    berth = await startProcess();
  }, 120000);
  afterAll(async () => {
    await berth?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  itRoot(
    'layers are adopted from staging and the unpacked image is right',
    async () => {
      const img = await writeOciImage(join(work, 'good'), { name: 'docker.io/library/staged:good', layers: layers(3) });
      const ref = await pushImage(registry!, join(work, 'good'), img.refName, 'library/staged:good');
      const from = berth!.proc.stderr.length;
      const r = await ctr(berth!.dirs.address, ['images', 'pull', '--plain-http', ref], { timeoutMs: 120000 });
      expect(r.code).toBe(0);
      const applied = berth!.proc.stderr
        .slice(from)
        .split('\n')
        .filter((l) => l.includes('layer applied'));
      expect(applied).toHaveLength(2);
      expect(applied.every((l) => l.includes('"how":"staged"'))).toBe(true);
      await withImageRootfs(
        berth!.dirs.address,
        img.layers.map((l) => l.diffId),
        async (root) => {
          expect((await readdir(join(root, 'etc'))).sort()).toEqual(['new']);
          expect((await readFile(join(root, 'bin/tool'))).length).toBe(2 << 20);
          expect(await readFile(join(root, 'etc/new'), 'utf8')).toBe('v2');
        },
      );
      expect(await readdir(join(berth!.dirs.root, 'diff-staging'))).toEqual([]);
    },
    180000,
  );

  itRoot(
    'a config whose diff_id does not match the layer is refused by ctr (staged or not)',
    async () => {
      const img = await writeOciImage(join(work, 'bad'), { name: 'docker.io/library/staged:bad', layers: layers(10) });
      await forgeDiffId(img);
      const ref = await pushImage(registry!, join(work, 'bad'), img.refName, 'library/staged:bad');
      const from = berth!.proc.stderr.length;
      const r = await ctr(berth!.dirs.address, ['images', 'pull', '--plain-http', ref], { timeoutMs: 120000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/wrong diff id/);
      // The forged layer was the staged one ctr refused (fresh blobs: both were staged).
      expect(
        berth!.proc.stderr
          .slice(from)
          .split('\n')
          .filter((l) => l.includes('"how":"staged"')),
      ).toHaveLength(2);
      const snaps = await ctr(berth!.dirs.address, ['snapshots', 'ls']);
      expect(snaps.stdout).not.toMatch(/extract-/); // ctr removed the failed active snapshot
    },
    180000,
  );
});
