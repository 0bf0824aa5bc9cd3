/**
 * `commit`: a container's changes (added, changed and deleted files, a replaced directory, links,
 * an xattr) become a layer and an image; a container of the new image sees them; and the same
 * image exported with ctr and unpacked by a real containerd gives the same tree as berth's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr } from '../helpers/ctr';
import { startContainerd, ok } from '../helpers/containerd';
import { CONTENT } from '../../src/daemon/slices/content';
import { itWith, requireRoot, requireTool } from '../helpers/requires';
import { EngineFixture, until } from '../helpers/engine';
import { itRoot } from './it-root';
import { diffTrees, listTree } from '../helpers/tree';
import { withImageRootfs } from '../helpers/snapshot-view';

const f = new EngineFixture('engcommit');
beforeAll(async () => {
  await f.setup();
  await f.addImage();
}, 120_000);
afterAll(() => f.teardown(), 60_000);

const itCtr = itWith(requireRoot(), requireTool('ctr', 'containerd'));

const CHANGES = [
  'echo added > /etc/added',
  'echo more >> /etc/passwd',
  'chmod 640 /etc/group',
  'rm /bin/vi /bin/wc',
  'rm -rf /root',
  'mkdir -p /data/sub && echo deep > /data/sub/f && ln /data/sub/f /data/hardlink && ln -s sub/f /data/symlink',
  'rm -rf /usr && mkdir -p /usr/local && echo only > /usr/local/only', // /usr: opaque now
  'setfattr -n user.berth -v yes /etc/added 2>/dev/null || true',
].join('; ');

async function run(image: string, script: string): Promise<string> {
  const c = await f.engine.create(f.ctx, { image, cmd: ['sh', '-c', script] });
  await f.engine.start(f.ctx, c.id);
  await f.engine.wait(f.ctx, c.id);
  let out = '';
  for await (const e of f.engine.logs(f.ctx, c.id)) out += e.data.toString();
  await f.engine.remove(f.ctx, c.id);
  return out;
}

describe('engine: commit', () => {
  let image = '';
  let diffIds: string[] = [];

  itRoot('the changes become a layer and an image whose containers see them', async () => {
    const c = await f.engine.create(f.ctx, {
      image: 'busybox',
      name: 'changer',
      env: ['COMMITTED=yes'],
      cmd: ['sh', '-c', `${CHANGES}; echo changed; sleep 60`],
    });
    await f.engine.start(f.ctx, c.id);
    await until('the changes', async () => {
      for await (const e of f.engine.logs(f.ctx, c.id)) if (e.data.toString() === 'changed\n') return true;
      return undefined;
    });
    const res = await f.engine.commit(f.ctx, 'changer', { reference: 'committed:1', comment: 'from a test', author: 'berth' });
    expect(res).toMatchObject({ name: 'docker.io/library/committed:1', imageId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect((await f.engine.inspect(f.ctx, 'changer')).state.status).toBe('running'); // paused and resumed
    image = res.name;
    const out = await run(
      image,
      'cat /etc/added; tail -1 /etc/passwd; stat -c %a /etc/group; ls /bin/vi /bin/wc /root 2>&1 | wc -l; ls /usr; cat /data/sub/f /data/symlink; stat -c %h /data/hardlink; echo $COMMITTED; ls /bin/sh',
    );
    expect(out).toBe('added\nmore\n640\n3\nlocal\ndeep\ndeep\n2\nyes\n/bin/sh\n');
    // The image config: one more diff_id, a history entry, the container's config.
    const resolved = await f.engine.create(f.ctx, { image, name: 'probe', cmd: ['true'] });
    expect(resolved.imageId).toBe(res.imageId);
    expect(resolved.config.env).toContain('COMMITTED=yes');
    await f.engine.remove(f.ctx, 'probe');
    await f.engine.remove(f.ctx, 'changer', { force: true });
    const busyboxDiffIds = 1;
    const cfg = await readConfig(res.imageId);
    diffIds = cfg.rootfs.diff_ids;
    expect(diffIds).toHaveLength(busyboxDiffIds + 1);
    expect(cfg.history!.pop()).toMatchObject({ comment: 'from a test', author: 'berth', created_by: expect.stringContaining('sh -c') });
    expect(cfg.config.Cmd).toEqual(['sh', '-c', `${CHANGES}; echo changed; sleep 60`]);
  });

  itCtr(
    'a real containerd unpacks the committed image (exported with ctr) to the same tree as berth',
    async () => {
      expect(image).not.toBe('');
      const work = await mkdtemp(join(tmpdir(), 'berth-commit-'));
      const containerd = await startContainerd();
      try {
        const archive = join(work, 'committed.tar');
        ok(await ctr(f.dirs.address, ['--namespace', f.ns, 'images', 'export', archive, image], { timeoutMs: 60_000 }), 'ctr export from berthd');
        ok(await containerd.ctr(['images', 'import', archive], { timeoutMs: 60_000 }), 'ctr import into containerd');
        const theirs = await withImageRootfs(containerd.address, diffIds, (dir) => listTree(dir));
        const ours = await withImageRootfs(f.dirs.address, diffIds, (dir) => listTree(dir), { namespace: f.ns });
        expect(diffTrees(ours, theirs, { labels: ['berth', 'containerd'], ignore: ['mtime'] })).toEqual([]);
        expect(ours.find((e) => e.path === 'usr/bin')).toBeUndefined(); // the opaque /usr hid the image's
        expect(ours.find((e) => e.path === 'data/hardlink')?.hardlinkOf ?? ours.find((e) => e.path === 'data/sub/f')?.hardlinkOf).toBeDefined();
      } finally {
        await containerd.stop();
        await rm(work, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

async function readConfig(digest: string): Promise<{ rootfs: { diff_ids: string[] }; history?: Array<Record<string, string>>; config: { Cmd?: string[] } }> {
  const content = f.part(CONTENT);
  const chunks: Buffer[] = [];
  for await (const c of content.read(f.ctx, digest)) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString());
}
