import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ctr, run } from '../helpers/ctr';
import { startInProcess } from '../helpers/daemon';
import { mountedUnder } from '../suites/snapshotter-suite';
import { itWith, requireRoot, requireTool } from '../helpers/requires';

const itCtr = itWith(requireRoot(), requireTool('ctr'));

describe('real ctr snapshots against berthd', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let mnt: string;
  const snap = async (args: string[], expectOk = true) => {
    const r = await ctr(d.daemon.address, ['snapshots', ...args]);
    if (expectOk && r.code !== 0) throw new Error(`ctr snapshots ${args.join(' ')}: rc=${r.code} ${r.stderr}`);
    return r;
  };
  /** Runs the `mount -t … -o …` line `ctr snapshots mounts` prints. */
  const mountPrinted = async (key: string) => {
    const line = (await snap(['mounts', mnt, key])).stdout.trim();
    expect(line).toMatch(/^mount -t (bind|overlay) /);
    const r = await run('sh', ['-c', line]);
    if (r.code !== 0) throw new Error(`${line}: ${r.stderr}`);
  };
  const umount = async () => expect((await run('umount', [mnt])).code).toBe(0);

  beforeAll(async () => {
    // `ctr snapshots view` labels nothing (prepare and commit add containerd.io/gc.root), so a view is
    // unreferenced and a background collection may remove it before `mounts`, on containerd too. Each
    // Snapshots/Remove here schedules one 100 ms later; push that out of these tests' way.
    d = await startInProcess({ gc: { scheduleDelayMs: 60_000 } });
    mnt = join(d.dirs.dir, 'mnt');
    await mkdir(mnt);
  });
  afterAll(async () => {
    await d.stop();
    expect(mountedUnder(d.dirs.dir)).toEqual([]);
    await rm(d.dirs.dir, { recursive: true, force: true });
  });

  itCtr('prepare, mount what `mounts` prints, write and delete, commit, and see it in a new view', async () => {
    await snap(['prepare', 'base']);
    await mountPrinted('base');
    try {
      await writeFile(join(mnt, 'keep.txt'), 'keep');
      await writeFile(join(mnt, 'gone.txt'), 'gone');
      await mkdir(join(mnt, 'dir'));
      await writeFile(join(mnt, 'dir', 'f'), 'f');
    } finally {
      await umount();
    }
    await snap(['commit', 'base-c', 'base']);

    await snap(['prepare', 'up', 'base-c']);
    const used = await snap(['prepare', 'up', 'base-c'], false);
    expect(used.code).not.toBe(0);
    expect(used.stderr).toMatch(/already exists/);
    await mountPrinted('up');
    try {
      expect(await readFile(join(mnt, 'keep.txt'), 'utf8')).toBe('keep');
      await rm(join(mnt, 'gone.txt'));
      await rm(join(mnt, 'dir'), { recursive: true });
      await writeFile(join(mnt, 'new.txt'), 'new');
    } finally {
      await umount();
    }
    await snap(['commit', 'up-c', 'up']);

    await snap(['view', 'v', 'up-c']);
    await mountPrinted('v');
    try {
      expect((await readdir(mnt)).sort()).toEqual(['keep.txt', 'new.txt']);
      await expect(writeFile(join(mnt, 'x'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    } finally {
      await umount();
    }

    // Error cases as on containerd.
    const cv = await snap(['commit', 'x', 'v'], false);
    expect(cv.code).not.toBe(0);
    expect(cv.stderr).toMatch(/failed precondition/);
    const rmParent = await snap(['rm', 'base-c'], false);
    expect(rmParent.code).not.toBe(0);
    expect(rmParent.stderr).toMatch(/child/);
    const info404 = await snap(['info', 'nope'], false);
    expect(info404.code).not.toBe(0);
    expect(info404.stderr).toMatch(/not found/);

    // Listings.
    const ls = (await snap(['ls'])).stdout;
    expect(ls.split('\n')[0]).toMatch(/^KEY\s+PARENT\s+KIND/);
    expect(ls).toMatch(/base-c\s+Committed/);
    expect(ls).toMatch(/up-c\s+base-c\s+Committed/);
    expect(ls).toMatch(/v\s+up-c\s+View/);
    const tree = (await snap(['tree'])).stdout;
    expect(tree).toContain('base-c');
    expect(tree).toMatch(/\\_ up-c/);
    expect(tree).toMatch(/\\_ v/);
    const usage = (await snap(['usage'])).stdout;
    expect(usage).toMatch(/up-c\s+\d/);
    const info = JSON.parse((await snap(['info', 'up-c'])).stdout);
    expect(info).toMatchObject({ Kind: 'Committed', Name: 'up-c', Parent: 'base-c' });
    expect(Object.keys(info.Labels)).toContain('containerd.io/gc.root');

    await snap(['rm', 'v']);
    await snap(['rm', 'up-c']);
    await snap(['rm', 'base-c']);
    expect((await snap(['ls'])).stdout.trim().split('\n')).toHaveLength(1);
    expect(await readdir(join(d.dirs.root, 'snapshots', 'overlayfs', 'snapshots'))).toEqual([]);
  });

  itCtr('the native snapshotter through --snapshotter', async () => {
    await snap(['--snapshotter', 'native', 'prepare', 'n1']);
    await mountPrinted_native('n1');
    async function mountPrinted_native(key: string) {
      const line = (await snap(['--snapshotter', 'native', 'mounts', mnt, key])).stdout.trim();
      expect(line).toMatch(/^mount -t bind /);
      expect((await run('sh', ['-c', line])).code).toBe(0);
    }
    try {
      await writeFile(join(mnt, 'n.txt'), 'n');
    } finally {
      await umount();
    }
    await snap(['--snapshotter', 'native', 'commit', 'n1-c', 'n1']);
    await snap(['--snapshotter', 'native', 'view', 'nv', 'n1-c']);
    await mountPrinted_native('nv');
    try {
      expect(await readdir(mnt)).toEqual(['n.txt']);
    } finally {
      await umount();
    }
    await snap(['--snapshotter', 'native', 'rm', 'nv', 'n1-c']);
    const unknown = await snap(['--snapshotter', 'zfs', 'ls'], false);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/snapshotter not loaded: zfs/);
  });
});
