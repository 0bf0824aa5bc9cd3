/** A tiny rootfs from the host's static busybox, built in a temp dir for native tests. */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';

export interface BusyboxRootfs {
  bundle: string;
  rootfs: string;
  remove(): Promise<void>;
}

export async function makeBusyboxRootfs(parent = tmpdir()): Promise<BusyboxRootfs> {
  const bundle = await mkdtemp(join(parent, 'berth-bundle-'));
  const rootfs = join(bundle, 'rootfs');
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'run', 'var'])
    await mkdir(join(rootfs, d), { recursive: true });
  await chmod(join(rootfs, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(rootfs, 'bin/busybox'));
  await chmod(join(rootfs, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  await Promise.all(applets.map((a) => symlink('busybox', join(rootfs, 'bin', a)).catch(() => undefined)));
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  await writeFile(join(rootfs, 'etc/hostname'), 'berth\n');
  return { bundle, rootfs, remove: () => rm(bundle, { recursive: true, force: true }) };
}
