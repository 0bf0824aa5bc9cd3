/**
 * berth-rootfs (src/rootfs, native/rootfs) on real snapshots made by berthd's overlay
 * snapshotter, with an image whose tree is hostile: symlinks to host paths (`/etc/passwd`),
 * `../../..` chains, a symlinked directory pointing at a host directory. Copy-up into a volume,
 * stat, and cp into a stopped container (its snapshot mounted privately, a volume bound in) and
 * into a running one (its own view, /proc/PID/root) touch only the container: the host's files
 * keep their content and mtime.
 */
import { execFileSync } from 'node:child_process';
import { cp, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, link, writeFile, chown, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { background } from '../../src/core/context';
import { MetadataDB } from '../../src/metadata/db';
import { VolumeRecords } from '../../src/metadata/volumes';
import { LocalVolumes } from '../../src/volumes';
import type { Mount } from '../../src/core/types';
import { RootfsTool, type RootfsSource } from '../../src/rootfs';
import { OverlaySnapshotter } from '../../src/snapshotter';
import { makeBusyboxRootfs } from '../helpers/busybox-rootfs';
import { diffTrees, listTree, xattrTool } from '../helpers/tree';
import { useHarness } from '../native/harness';
import { describeWith, itWith, requireRoot } from '../helpers/requires';
import { failure } from '../helpers/errors';
import { tarEntries } from '../helpers/tar-entries';

const itRoot = itWith(requireRoot(), xattrTool());
const tool = new RootfsTool();
const h = useHarness();

let dir: string;
let sn: OverlaySnapshotter;
let lower: string; // the image layer's directory (what copy-up must reproduce)
let mounts: Mount[]; // the container's snapshot: overlay on the image
let upper: string;
/** A host directory that a naive (host-resolving) implementation would write into. */
let sentinel: string;
let hostPasswd: { content: string; mtimeMs: number };

async function tarOf(
  entries: Array<{
    name: string;
    type?: 'file' | 'directory' | 'symlink' | 'link';
    data?: string;
    linkname?: string;
    mode?: number;
    uid?: number;
    gid?: number;
  }>,
): Promise<Buffer> {
  const p = pack();
  for (const e of entries)
    p.entry(
      {
        name: e.name,
        type: e.type ?? 'file',
        mode: e.mode ?? 0o644,
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        ...(e.linkname ? { linkname: e.linkname } : {}),
        mtime: new Date(1_600_000_000_000),
      },
      e.data ?? '',
    );
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const from = (b: Buffer) => Readable.from([b]);

/** name → [type, content or link target]. */
const entriesOf = async (tar: Readable) => new Map([...(await tarEntries(tar))].map(([k, v]) => [k, [v.type, v.content] as [string, string]]));

async function hostUntouched(): Promise<void> {
  expect(await readFile('/etc/passwd', 'utf8')).toBe(hostPasswd.content);
  expect((await stat('/etc/passwd')).mtimeMs).toBe(hostPasswd.mtimeMs);
  expect(await readdir(sentinel)).toEqual([]);
}

describeWith(requireRoot())('berth-rootfs on overlay snapshots', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-rootfs-'));
    sentinel = await mkdtemp(join(tmpdir(), 'berth-rootfs-host-'));
    hostPasswd = { content: await readFile('/etc/passwd', 'utf8'), mtimeMs: (await stat('/etc/passwd')).mtimeMs };
    sn = await OverlaySnapshotter.open(join(dir, 'snapshots'));
    const base = await sn.prepare('base-active');
    lower = base[0]!.source;
    // The image: a busybox system plus a hostile /data.
    const bb = await makeBusyboxRootfs(dir);
    await cp(bb.rootfs, lower, { recursive: true, verbatimSymlinks: true });
    await bb.remove();
    await writeFile(join(lower, 'etc/passwd'), 'container-passwd\n');
    const data = join(lower, 'data');
    await mkdir(join(data, 'sub/deeper'), { recursive: true });
    await writeFile(join(data, 'hello'), 'hello\n');
    await chown(join(data, 'hello'), 1000, 1001);
    await chmod(join(data, 'hello'), 0o4750);
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'kept', join(data, 'hello')]);
    await link(join(data, 'hello'), join(data, 'sub/hello-link'));
    await writeFile(join(data, 'sub/deeper/file'), 'x'.repeat(100_000));
    await symlink('/etc/passwd', join(data, 'pw'));
    await symlink('../../../../../../../../..', join(data, 'up'));
    // From the layer dir, this many `..` reach the host's root: a host-side resolution would land in the sentinel.
    await symlink(`../../../../../../../../../../../../..${sentinel}`, join(data, 'esc'));
    execFileSync('mkfifo', [join(data, 'fifo')]);
    execFileSync('mknod', [join(data, 'null'), 'c', '1', '3']);
    await chown(data, 1000, 1000);
    await chmod(data, 0o750);
    await symlink('../../../../../../../../../etc', join(lower, 'evil')); // a directory symlink to the host's /etc
    await sn.commit('base', 'base-active');
    mounts = await sn.prepare('ctr', 'base');
    upper = mounts[0]!.options.find((o) => o.startsWith('upperdir='))!.slice('upperdir='.length);
  }, 60_000);

  afterAll(async () => {
    await sn?.close();
    await rm(dir, { recursive: true, force: true });
    await rm(sentinel, { recursive: true, force: true });
  });

  const stopped = (extra: Partial<Extract<RootfsSource, { kind: 'mounts' }>> = {}): RootfsSource => ({ kind: 'mounts', mounts, tmpdir: dir, ...extra });

  itRoot('copy-up reproduces the image’s directory in an empty volume: owners, modes, xattrs, symlinks, hardlinks, devices', async () => {
    const vol = await mkdtemp(join(dir, 'vol-'));
    const r = await tool.copyUp(stopped({ readonly: true }), '/data', vol);
    expect(r).toMatchObject({ copied: true, bytes: 100_006 });
    // The volume's root takes the mounted-over directory's owner and mode (Docker's copyOwnership).
    const diffs = diffTrees(await listTree(join(lower, 'data'), { xattrs: true }), await listTree(vol, { xattrs: true }), {
      labels: ['image', 'volume'],
      ignorePaths: (p) => p === '',
    });
    expect(diffs).toEqual([]);
    const root = await lstat(vol);
    expect([root.uid, root.gid, root.mode & 0o7777]).toEqual([1000, 1000, 0o750]);
    expect((await lstat(join(vol, 'hello'))).ino).toBe((await lstat(join(vol, 'sub/hello-link'))).ino);
    await hostUntouched();
  });

  itRoot('a new named volume used by a container gets the image’s content; a second user does not copy again', async () => {
    const db = await MetadataDB.open(join(dir, 'meta'));
    try {
      const vols = await LocalVolumes.open({ root: join(dir, 'volumes'), records: new VolumeRecords(db), rootfs: tool });
      const ctx = background('default');
      const [v] = await vols.use(ctx, 'c1', [{ name: 'appdata' }]);
      expect(await vols.populate(ctx, 'appdata', stopped({ readonly: true }), '/data')).toMatchObject({ copied: true });
      expect(await readFile(join(v!.mountpoint, 'hello'), 'utf8')).toBe('hello\n');
      await writeFile(join(v!.mountpoint, 'hello'), 'changed by c1\n');
      await vols.use(ctx, 'c2', [{ name: 'appdata' }]);
      expect(await vols.populate(ctx, 'appdata', stopped({ readonly: true }), '/data')).toEqual({ copied: false, reason: 'not empty' });
      expect(await readFile(join(v!.mountpoint, 'hello'), 'utf8')).toBe('changed by c1\n');
      expect((await failure(vols.populate(ctx, 'nosuch', stopped({ readonly: true }), '/data')))[0]).toBe('NotFound');
    } finally {
      await db.close();
    }
  });

  itRoot('copy-up copies only into an empty volume, and nothing for a missing path or a file', async () => {
    const vol = await mkdtemp(join(dir, 'vol-'));
    await writeFile(join(vol, 'mine'), 'mine');
    expect(await tool.copyUp(stopped({ readonly: true }), '/data', vol)).toEqual({ copied: false, reason: 'not empty' });
    expect(await readdir(vol)).toEqual(['mine']);
    const empty = await mkdtemp(join(dir, 'vol-'));
    expect(await tool.copyUp(stopped({ readonly: true }), '/nowhere', empty)).toEqual({ copied: false, reason: 'missing' });
    expect(await tool.copyUp(stopped({ readonly: true }), '/data/hello', empty)).toEqual({ copied: false, reason: 'not a directory' });
    expect(await readdir(empty)).toEqual([]);
  });

  itRoot('a path through a symlink to a host directory resolves inside the container', async () => {
    const vol = await mkdtemp(join(dir, 'vol-'));
    // /evil -> ../../../../../../../../../etc: the container's /etc, not the host's.
    expect(await tool.copyUp(stopped({ readonly: true }), '/evil', vol)).toMatchObject({ copied: true });
    expect((await readdir(vol)).sort()).toEqual(['group', 'hostname', 'passwd']);
    expect(await readFile(join(vol, 'passwd'), 'utf8')).toBe('container-passwd\n');
  });

  itRoot('stat: the last component is not followed; a link’s target is resolved in the container', async () => {
    const src = stopped({ readonly: true });
    expect(await tool.stat(src, '/data/pw')).toMatchObject({ name: 'pw', linkTarget: '/etc/passwd' });
    expect(await tool.stat(src, '/data/up')).toMatchObject({ name: 'up', linkTarget: '/' });
    expect(await tool.stat(src, '/data/esc')).toMatchObject({ linkTarget: sentinel });
    const d = await tool.stat(src, '/evil/');
    expect(d.name).toBe('evil');
    expect(d.mode & 0o170000).toBe(0o040000);
    expect(await tool.stat(src, '/data/hello')).toMatchObject({ name: 'hello', size: 6, uid: 1000, gid: 1001, mode: 0o104750 });
    expect((await failure(tool.stat(src, '/data/nope')))[0]).toBe('NotFound');
  });

  itRoot('cp into a stopped container: writes land in its snapshot, through its symlinks, never on the host', async () => {
    const t = await tarOf([
      { name: 'pw', data: 'replaced\n' }, // a symlink to /etc/passwd: replaced by a file
      { name: 'up/at-root', data: 'root\n' }, // through ../../..: the container's root
      { name: 'esc/pwned', data: 'x' }, // through the symlink that reaches the host sentinel from the layer dir
      { name: 'newdir/f', data: 'f', uid: 1234, gid: 5678, mode: 0o600 },
      { name: '.wh.hello', data: 'just a file' }, // no whiteout semantics in cp
    ]);
    expect(await tool.extract(stopped(), '/data', from(t))).toEqual({ entries: 5 });
    await hostUntouched();
    expect(await readFile(join(upper, 'data/pw'), 'utf8')).toBe('replaced\n');
    expect(await readFile(join(upper, 'at-root'), 'utf8')).toBe('root\n');
    expect(await readFile(join(upper, sentinel.slice(1), 'pwned'), 'utf8')).toBe('x');
    const f = await lstat(join(upper, 'data/newdir/f'));
    expect([f.uid, f.gid, f.mode & 0o777]).toEqual([1234, 5678, 0o600]);
    expect(await readFile(join(upper, 'data/.wh.hello'), 'utf8')).toBe('just a file');
    expect(await readFile(join(lower, 'data/hello'), 'utf8')).toBe('hello\n');
  });

  // (After the cp-in tests above, which replaced /data/pw with a file.)
  itRoot('cp out of a stopped container: links are archived as links, a followed path resolves inside it', async () => {
    const src = stopped({ readonly: true });
    const a = await tool.archive(src, '/data', { name: 'data' });
    const e = await entriesOf(a.stream);
    expect(await a.done).toMatchObject({ entries: e.size });
    expect(e.get('data/')).toEqual(['directory', '']);
    expect(e.get('data/up')).toEqual(['symlink', '../../../../../../../../..']);
    expect(e.get('data/esc')).toEqual(['symlink', `../../../../../../../../../../../../..${sentinel}`]);
    expect(e.get('data/hello')).toEqual(['file', 'hello\n']);
    expect(e.get('data/sub/hello-link')).toEqual(['link', 'data/hello']);
    expect(e.get('data/null')?.[0]).toBe('character-device');
    // Through a symlinked directory (followed, as `cp c:/evil/ .` does): the container's /etc.
    const etc = await entriesOf((await tool.archive(src, '/evil/', { name: 'evil' })).stream);
    expect(etc.get('evil/passwd')).toEqual(['file', 'container-passwd\n']);
    expect([...etc.keys()].sort()).toEqual(['evil/', 'evil/group', 'evil/hostname', 'evil/passwd']);
    // The last component is not followed: the link itself.
    expect([...(await entriesOf((await tool.archive(src, '/data/up', { name: 'up' })).stream)).entries()]).toEqual([
      ['up', ['symlink', '../../../../../../../../..']],
    ]);
    expect((await failure(tool.archive(src, '/nope', { name: 'nope' })))[0]).toBe('NotFound');
  });

  itRoot('a user namespace’s ids: archive writes container ids for host ones, extract stores host ids for container ones', async () => {
    const tree = await mkdtemp(join(dir, 'ids-'));
    await writeFile(join(tree, 'mapped'), 'm');
    await chown(join(tree, 'mapped'), 200_005, 210_007);
    await writeFile(join(tree, 'outside'), 'o');
    await chown(join(tree, 'outside'), 5, 5);
    const uidMap = [{ containerID: 0, hostID: 200_000, size: 65536 }];
    const gidMap = [{ containerID: 0, hostID: 210_000, size: 65536 }];
    const a = await tool.archive({ kind: 'dir', path: tree }, '/', { uidMap, gidMap });
    const owners = new Map<string, string>();
    const x = extract();
    x.on('entry', (h, s, next) => {
      owners.set(h.name, `${h.uid}:${h.gid}`);
      s.resume();
      s.on('end', next);
    });
    await new Promise<void>((resolve, reject) =>
      a.stream
        .pipe(x)
        .on('finish', () => resolve())
        .on('error', reject),
    );
    expect(owners).toEqual(
      new Map([
        ['mapped', '5:7'],
        ['outside', '65534:65534'],
      ]),
    );
    await tool.extract({ kind: 'dir', path: tree }, '/', from(await tarOf([{ name: 'in', data: 'i', uid: 3, gid: 4 }])), { uidMap, gidMap });
    const st = await lstat(join(tree, 'in'));
    expect([st.uid, st.gid]).toEqual([200_003, 210_004]);
    expect(
      (await failure(tool.extract({ kind: 'dir', path: tree }, '/', from(await tarOf([{ name: 'big', data: '', uid: 70_000 }])), { uidMap, gidMap })))[0],
    ).toBe('InvalidArgument');
  });

  itRoot('export: every path of the container, relative, the root itself left out', async () => {
    const e = await entriesOf((await tool.archive(stopped({ readonly: true }), '/')).stream);
    expect(e.get('etc/passwd')).toEqual(['file', 'container-passwd\n']);
    expect(e.get('evil')).toEqual(['symlink', '../../../../../../../../../etc']);
    expect(e.has('bin/busybox')).toBe(true);
    expect([...e.keys()].some((k) => k === '' || k === './' || k.startsWith('/'))).toBe(false);
  });

  itRoot('cp refuses entries that climb out, swaps of a directory and a file, and a missing or non-directory destination', async () => {
    const src = stopped();
    expect(await failure(tool.extract(src, '/data', from(await tarOf([{ name: '../escape', data: 'x' }]))))).toEqual([
      'InvalidArgument',
      'copy into /data: `../escape` is outside of the destination',
    ]);
    expect((await failure(tool.extract(src, '/data', from(await tarOf([{ name: 'l', type: 'symlink', linkname: '../../etc/shadow' }])))))[0]).toBe(
      'InvalidArgument',
    );
    expect((await failure(tool.extract(src, '/data', from(await tarOf([{ name: 'h', type: 'link', linkname: '../../etc/passwd' }])))))[0]).toBe(
      'InvalidArgument',
    );
    expect(await failure(tool.extract(src, '/data', from(await tarOf([{ name: 'sub', data: 'x' }]))))).toEqual([
      'Conflict',
      'copy into /data: cannot overwrite directory `/data/sub` with non-directory `sub`',
    ]);
    expect((await failure(tool.extract(src, '/data', from(await tarOf([{ name: 'hello', type: 'directory' }])))))[0]).toBe('Conflict');
    expect((await failure(tool.extract(src, '/missing', from(await tarOf([{ name: 'a' }])))))[0]).toBe('NotFound');
    expect((await failure(tool.extract(src, '/data/hello', from(await tarOf([{ name: 'a' }])))))[0]).toBe('InvalidArgument');
    expect((await failure(tool.extract(src, '/data', Readable.from([Buffer.from('BZh91AY&SY')]))))[0]).toBe('NotImplemented');
    await hostUntouched();
  });

  itRoot('cp sees the stopped container’s volumes (bound in privately) and takes a gzip tar', async () => {
    const vol = await mkdtemp(join(dir, 'vol-'));
    const src = stopped({ binds: [{ source: vol, destination: '/data/sub', readonly: false }] });
    await tool.extract(src, '/data/sub', from(gzipSync(await tarOf([{ name: 'in-volume', data: 'v' }]))));
    expect(await readFile(join(vol, 'in-volume'), 'utf8')).toBe('v');
    expect(await readdir(join(lower, 'data/sub'))).not.toContain('in-volume');
    const ro = stopped({ binds: [{ source: vol, destination: '/data/sub', readonly: true }] });
    expect((await failure(tool.extract(ro, '/data/sub', from(await tarOf([{ name: 'nope', data: 'v' }])))))[0]).toBe('FailedPrecondition');
  });

  itRoot('cp into a running container goes through its own view (/proc/PID/root), mounts included', async () => {
    const rootfs = await mkdtemp(join(dir, 'rootfs-'));
    const r = await h.run('cp', ['sleep', '60'], {
      extra: { rootfs, rootfsMounts: mounts.map((m) => ({ type: m.type, source: m.source, options: m.options })) },
    });
    try {
      const src: RootfsSource = { kind: 'pid', pid: r.pid };
      const t = await tarOf([
        { name: 'esc/live', data: 'live' },
        { name: 'pw', data: 'live-pw\n' },
      ]);
      await tool.extract(src, '/data', from(t));
      await hostUntouched();
      expect(await readFile(join(upper, sentinel.slice(1), 'live'), 'utf8')).toBe('live');
      // The container's own /proc is a mount only it has: cp sees it.
      expect((await tool.stat(src, '/proc/1')).mode & 0o170000).toBe(0o040000);
      expect(await tool.stat(src, '/data/pw')).toMatchObject({ size: 8 });
      // cp out sees the container's view; its /proc is archived as an empty directory.
      const e = await entriesOf((await tool.archive(src, '/', { name: '.' })).stream);
      expect(e.get('./data/pw')).toEqual(['file', 'live-pw\n']);
      expect(e.get('./proc/')).toEqual(['directory', '']);
      expect([...e.keys()].filter((k) => k.startsWith('./proc/') && k !== './proc/')).toEqual([]);
    } finally {
      await r.monitor.kill('SIGKILL');
      await r.finish();
    }
    expect((await failure(tool.stat({ kind: 'pid', pid: r.pid }, '/')))[0]).toBe('NotFound');
  });
});
