import { spawn } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { internal } from '../core/errors';
import { nullLogger } from '../core/logger';
import type { Mount } from '../core/types';
import { DirSnapshotter, type DirSnapshotterOptions } from './dir-snapshotter';
import { MetaStore, type SnapshotRecord } from './storage';
import type { Kind } from './types';

/**
 * containerd's native snapshotter: every snapshot is a full copy of its parent, mounts are binds.
 * The fallback for filesystems without overlay support. Node can neither mknod nor set xattrs,
 * so the copy is ONE `cp -a --reflink=auto parent/. new/` process per snapshot (modes, owners,
 * xattrs, hardlinks, devices, mtimes preserved; reflinks where the filesystem has them).
 */
export class NativeSnapshotter extends DirSnapshotter {
  private constructor(root: string, store: MetaStore, opts: DirSnapshotterOptions) {
    super(root, store, opts.log ?? nullLogger, opts.offloadRemoval);
  }

  static async open(root: string, opts: DirSnapshotterOptions = {}): Promise<NativeSnapshotter> {
    await DirSnapshotter.prepareRoot(root);
    const store = await MetaStore.open(join(root, 'metadata.db'));
    const s = new NativeSnapshotter(root, store, opts);
    await s.cleanup();
    return s;
  }

  protected async populate(dir: string, _kind: Kind, parentIds: string[]): Promise<void> {
    const fs = join(dir, 'fs');
    await mkdir(fs, { mode: 0o755 });
    await chmod(fs, 0o755);
    if (parentIds.length > 0) await copyTree(this.fsPath(parentIds[0]!), fs);
  }

  protected mountsFor(rec: SnapshotRecord): Mount[] {
    return [{ type: 'bind', source: this.fsPath(rec.id), options: [rec.kind === 'VIEW' ? 'ro' : 'rw', 'rbind'] }];
  }
}

function copyTree(src: string, dst: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('cp', ['-a', '--reflink=auto', `${src}/.`, `${dst}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString();
    });
    child.on('error', (e) => reject(internal(`copy ${src}: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(internal(`copy ${src} → ${dst}: cp exited ${code ?? signal}: ${stderr.trim()}`));
    });
  });
}
