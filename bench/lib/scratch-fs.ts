/**
 * A fresh ext4 filesystem with a journal (mkfs.ext4's defaults, what a Debian host has) on a
 * loop device under the run's work dir, mounted once per run; env.close() unmounts it (mount -o
 * loop detaches the device then) and removes the image file.
 *
 * Why: this VM's root filesystem is ext4 without a journal, where a new inode skips every inode
 * of its block group deleted in the last minute (ext4's recently_deleted()), one lookup each, so
 * unpacking ~12k files right after removing the previous image's slows down pull after pull
 * (GNU tar into the same dir: 2.8, 6.3, 13.8, 22.5 s). Pull rows run here as well, so the ratio
 * does not rest on that.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../test/helpers/ctr';
import type { BenchEnv } from './workload';

const mounted = new WeakMap<BenchEnv, Promise<string>>();

async function must(cmd: string, args: string[]): Promise<void> {
  const r = await run(cmd, args, { timeoutMs: 120000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr}`);
}

export function journaledExt4(env: BenchEnv): Promise<string> {
  let p = mounted.get(env);
  if (!p) {
    p = (async () => {
      const img = join(env.workDir, 'ext4-journal.img');
      const mnt = join(env.workDir, 'ext4-journal');
      await must('truncate', ['-s', '16G', img]);
      await must('mkfs.ext4', ['-q', '-F', img]);
      await mkdir(mnt);
      await must('mount', ['-o', 'loop', img, mnt]);
      env.log(`ext4 with a journal on a loop device at ${mnt}`);
      return mnt;
    })();
    mounted.set(env, p);
  }
  return p;
}
