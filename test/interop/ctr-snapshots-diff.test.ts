/**
 * `ctr snapshots diff` (Diff/Diff) against berthd and against a real containerd doing the same:
 * a base snapshot, an active one on top with files added, changed and deleted, a replaced
 * directory; the diff of the active snapshot and of its committed form list the same entries
 * (names, types, whiteouts, opaque markers) on both, for the overlayfs and native snapshotters.
 */
import { mkdir, rm, writeFile, chmod, symlink, link } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { run } from '../helpers/ctr';
import { startContainerd } from '../helpers/containerd';
import { startInProcess } from '../helpers/daemon';
import { itWith, requireRoot, requireTool } from '../helpers/requires';

const itCtr = itWith(requireRoot(), requireTool('ctr', 'containerd'));

/** ctr against one daemon, stdout as bytes (a diff is a binary blob). */
type Ctr = (args: string[]) => Promise<Buffer>;

function ctrAt(address: string): Ctr {
  return (args) =>
    new Promise((resolve, reject) => {
      const child = spawn('ctr', ['--address', address, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', (code) => {
        clearTimeout(t);
        if (code === 0) resolve(Buffer.concat(out));
        else reject(new Error(`ctr ${args.join(' ')}: ${err}`));
      });
    });
}

const must = async (c: Ctr, args: string[]): Promise<string> => (await c(args)).toString();

/** Runs the `mount -t … -o …` line `ctr snapshots mounts` prints at mnt, fn, unmounts. */
async function withMounted(c: Ctr, sn: string, mnt: string, key: string, fn: () => Promise<void>): Promise<void> {
  const line = (await must(c, ['snapshots', '--snapshotter', sn, 'mounts', mnt, key])).trim();
  const r = await run('sh', ['-c', line]);
  if (r.code !== 0) throw new Error(`${line}: ${r.stderr}`);
  try {
    await fn();
  } finally {
    await run('umount', [mnt]);
  }
}

/** The entries of a (gzip) tar: `name type`, sorted. */
async function entries(buf: Buffer): Promise<string[]> {
  const data = buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf;
  const out: string[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    out.push(
      `${h.name.replace(/\/$/, '')} ${h.type}${h.type === 'symlink' || h.type === 'link' ? `->${h.linkname}` : ''}${h.type === 'file' ? `:${h.size}:${(h.mode ?? 0).toString(8)}` : ''}`,
    );
    stream.resume();
    stream.on('end', next);
  });
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    Readable.from(data).pipe(ex);
  });
  return out.sort();
}

/** The same snapshot history on either daemon; returns the diffs of the active and the committed snapshot. */
async function scenario(c: Ctr, sn: string, mnt: string): Promise<{ active: string[]; committed: string[] }> {
  const s = ['snapshots', '--snapshotter', sn];
  await must(c, [...s, 'prepare', 'base']);
  await withMounted(c, sn, mnt, 'base', async () => {
    await mkdir(join(mnt, 'dir/sub'), { recursive: true });
    await writeFile(join(mnt, 'dir/sub/a'), 'a');
    await writeFile(join(mnt, 'keep'), 'keep');
    await writeFile(join(mnt, 'change'), 'before');
    await writeFile(join(mnt, 'gone'), 'gone');
    await mkdir(join(mnt, 'replaced'));
    await writeFile(join(mnt, 'replaced/old'), 'old');
  });
  await must(c, [...s, 'commit', 'base-c', 'base']);
  await must(c, [...s, 'prepare', 'top', 'base-c']);
  await withMounted(c, sn, mnt, 'top', async () => {
    await writeFile(join(mnt, 'change'), 'after!');
    await chmod(join(mnt, 'keep'), 0o600);
    await rm(join(mnt, 'gone'));
    await rm(join(mnt, 'dir/sub'), { recursive: true });
    await rm(join(mnt, 'replaced'), { recursive: true });
    await mkdir(join(mnt, 'replaced'));
    await writeFile(join(mnt, 'replaced/new'), 'new');
    await mkdir(join(mnt, 'added'));
    await writeFile(join(mnt, 'added/file'), 'x');
    await link(join(mnt, 'added/file'), join(mnt, 'added/hard'));
    await symlink('../keep', join(mnt, 'added/sym'));
  });
  const active = await entries(await c([...s, 'diff', 'top']));
  await must(c, [...s, 'commit', 'top-c', 'top']);
  const committed = await entries(await c([...s, 'diff', 'top-c']));
  for (const k of ['top-c', 'base-c']) await must(c, [...s, 'rm', k]);
  return { active, committed };
}

describe('ctr snapshots diff against berthd (Diff/Diff)', () => {
  for (const sn of ['overlayfs', 'native']) {
    itCtr(
      `${sn}: the same entries as containerd's, active and committed`,
      async () => {
        const d = await startInProcess({ gc: { scheduleDelayMs: 60_000 } });
        const containerd = await startContainerd();
        try {
          const mnt = join(d.dirs.dir, 'mnt');
          await mkdir(mnt);
          const ours = await scenario(ctrAt(d.daemon.address), sn, mnt);
          const theirs = await scenario(ctrAt(containerd.address), sn, mnt);
          // A directory removed and made again: berth reads the overlay upper dir, where the kernel
          // marked it opaque, and writes the opaque marker (as Docker's overlay2 driver does);
          // containerd compares the two trees and writes a whiteout per child the lower had. Both
          // give the same tree when applied.
          const same =
            sn === 'overlayfs' ? theirs.active.map((e) => (e === 'replaced/.wh.old file:0:0' ? 'replaced/.wh..wh..opq file:0:0' : e)).sort() : theirs.active;
          expect(ours.active).toEqual(same);
          expect(ours.committed).toEqual(same);
          expect(theirs.committed).toEqual(theirs.active);
          expect(ours.active).toEqual(
            expect.arrayContaining([
              '.wh.gone file:0:0',
              'change file:6:644',
              'added/hard link->added/file',
              'added/sym symlink->../keep',
              'dir/.wh.sub file:0:0',
            ]),
          );
        } finally {
          await containerd.stop();
          await d.stop();
        }
      },
      120_000,
    );
  }
});
