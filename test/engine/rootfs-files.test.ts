/**
 * Reading /etc/passwd and /etc/group out of a container's layers before it runs
 * (src/engine/rootfs-files.ts): upper first, whiteouts, and what a hostile layer or a running
 * container's own upper dir may hold: a directory that resolves outside its layer, a symlink, a
 * FIFO (a read that would block berthd's event loop).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mount } from '../../src/core/types';
import { readRootfsFile } from '../../src/engine/rootfs-files';
import { describeWith, requireRoot, requireTool } from '../helpers/requires';

describeWith(requireRoot(), requireTool('mkfifo', 'mknod'))('reading files out of the layers', () => {
  let dir: string;
  let upper: string;
  let lower: string;
  let outside: string;
  let mounts: Mount[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-rootfs-files-'));
    [upper, lower, outside] = ['upper', 'lower', 'outside'].map((d) => join(dir, d)) as [string, string, string];
    for (const d of [upper, lower, outside]) mkdirSync(d);
    mkdirSync(join(lower, 'etc'));
    writeFileSync(join(lower, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    writeFileSync(join(outside, 'passwd'), 'host:x:0:0::/:/bin/sh\n');
    mounts = [{ type: 'overlay', source: 'overlay', target: '', options: [`upperdir=${upper}`, `lowerdir=${lower}`, 'workdir=/w'] }];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the topmost layer that has the file gives it; a whiteout makes it absent', () => {
    expect(readRootfsFile(mounts, '/etc/passwd')).toBe('root:x:0:0::/root:/bin/sh\n');
    mkdirSync(join(upper, 'etc'));
    writeFileSync(join(upper, 'etc', 'passwd'), 'app:x:1000:1000::/:/bin/sh\n');
    expect(readRootfsFile(mounts, 'etc/passwd')).toBe('app:x:1000:1000::/:/bin/sh\n');
    rmSync(join(upper, 'etc', 'passwd'));
    execFileSync('mknod', [join(upper, 'etc', 'passwd'), 'c', '0', '0']);
    expect(readRootfsFile(mounts, '/etc/passwd')).toBeUndefined();
    expect(readRootfsFile(mounts, '/etc/group')).toBeUndefined();
  });

  it('a directory on the way that resolves outside its layer makes the file absent; one that stays inside is followed', () => {
    symlinkSync(outside, join(upper, 'etc')); // etc -> /…/outside, absolute, as an image or a running container may make it
    expect(readRootfsFile(mounts, '/etc/passwd')).toBeUndefined();
    rmSync(join(upper, 'etc'));
    mkdirSync(join(upper, 'usr'));
    mkdirSync(join(upper, 'usr', 'etc'));
    writeFileSync(join(upper, 'usr', 'etc', 'passwd'), 'inside:x:5:5::/:/bin/sh\n');
    symlinkSync('usr/etc', join(upper, 'etc')); // relative, within the layer
    expect(readRootfsFile(mounts, '/etc/passwd')).toBe('inside:x:5:5::/:/bin/sh\n');
  });

  it('a symlink, a FIFO or a file too large is not read (and nothing blocks)', () => {
    mkdirSync(join(upper, 'etc'));
    symlinkSync(join(outside, 'passwd'), join(upper, 'etc', 'passwd'));
    expect(readRootfsFile(mounts, '/etc/passwd')).toBeUndefined();
    execFileSync('mkfifo', [join(upper, 'etc', 'group')]);
    expect(readRootfsFile(mounts, '/etc/group')).toBeUndefined();
    writeFileSync(join(upper, 'etc', 'hosts'), 'x'.repeat(100));
    expect(readRootfsFile(mounts, '/etc/hosts', 50)).toBeUndefined();
    expect(readRootfsFile(mounts, '/etc/hosts')).toBe('x'.repeat(100));
  });
});
