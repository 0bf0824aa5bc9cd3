import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr } from '../helpers/ctr';
import { startProcess } from '../helpers/daemon';
import { type BuiltImage, writeOciArchive, writeOciImage } from '../helpers/oci';
import { withImageRootfs } from '../helpers/snapshot-view';
import { itWith, requireRoot, requireTool } from '../helpers/requires';

const itCtrRoot = itWith(requireTool('ctr'), requireRoot());

/** The real ctr unpacks through Snapshots/Prepare → Diff/Apply (overlay upper dirs) → Commit. */
describe('ctr images import unpacks through Diff.Apply', () => {
  let d: Awaited<ReturnType<typeof startProcess>>;
  let work: string;
  let img: BuiltImage;
  beforeAll(async () => {
    d = await startProcess();
    work = await mkdtemp(join(tmpdir(), 'berth-ctr-unpack-'));
    img = await writeOciImage(join(work, 'layout'), {
      name: 'docker.io/library/berth-unpack:1',
      layers: [
        {
          entries: [
            { path: 'etc', type: 'dir' },
            { path: 'etc/gone', type: 'file', content: 'x' },
            { path: 'etc/keep', type: 'file', content: 'keep' },
            { path: 'opq', type: 'dir' },
            { path: 'opq/old', type: 'file', content: 'old' },
            { path: 'was-file', type: 'file', content: 'f' },
            { path: 'was-dir', type: 'dir' },
            { path: 'was-dir/child', type: 'file', content: 'c' },
          ],
        },
        {
          entries: [
            { path: 'etc/gone', type: 'whiteout' },
            { path: 'opq', type: 'opaque' },
            { path: 'opq/new', type: 'file', content: 'new' },
            { path: 'was-file', type: 'dir', mode: 0o750 },
            { path: 'was-file/inside', type: 'file', content: 'i' },
            { path: 'was-dir', type: 'file', content: 'now file' },
            { path: 'bin', type: 'dir' },
            { path: 'bin/suid', type: 'file', content: '#!', mode: 0o4755 },
            { path: 'bin/hard', type: 'hardlink', linkname: 'bin/suid' },
            { path: 'bin/sym', type: 'symlink', linkname: 'suid' },
            { path: 'dev', type: 'dir' },
            { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
          ],
        },
      ],
    });
    await writeOciArchive(img.layoutDir, join(work, 'image.tar'));
  });
  afterAll(async () => {
    await d?.stop();
    await rm(work, { recursive: true, force: true });
  });

  itCtrRoot('import → the top snapshot shows whiteouts, opaque dirs, replacements, links, devices, setuid', async () => {
    const r = await ctr(d.dirs.address, ['images', 'import', join(work, 'image.tar')], { timeoutMs: 60000 });
    expect(r.stderr).not.toMatch(/error|failed/i);
    expect(r.code).toBe(0);
    await withImageRootfs(
      d.dirs.address,
      img.layers.map((l) => l.diffId),
      async (root) => {
        expect((await readdir(join(root, 'etc'))).sort()).toEqual(['keep']);
        expect((await readdir(join(root, 'opq'))).sort()).toEqual(['new']);
        expect((await lstat(join(root, 'was-file'))).isDirectory()).toBe(true);
        expect(await readFile(join(root, 'was-file/inside'), 'utf8')).toBe('i');
        expect(await readFile(join(root, 'was-dir'), 'utf8')).toBe('now file');
        const suid = await lstat(join(root, 'bin/suid'));
        expect(suid.mode & 0o7777).toBe(0o4755);
        expect((await lstat(join(root, 'bin/hard'))).ino).toBe(suid.ino);
        expect(await readlink(join(root, 'bin/sym'))).toBe('suid');
        const dev = await lstat(join(root, 'dev/null'));
        expect(dev.isCharacterDevice() && dev.rdev === ((1 << 8) | 3)).toBe(true);
      },
    );
  });
});
