/**
 * The helper's C unit tests (TAP, native/helper/tests): the plan parser, and the cgroup v2 device
 * filter loaded into the kernel and attached to a cgroup of our own (on this hybrid host the v2
 * hierarchy at /sys/fs/cgroup/unified; in test/vm's guest /sys/fs/cgroup).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..');
const itRoot = process.getuid?.() === 0 ? it : it.skip;

describe('berth-helper C unit tests', () => {
  itRoot('make check: every TAP test passes, none skipped', () => {
    const r = spawnSync('make', ['-s', '-C', join(REPO, 'native/helper'), 'check'], { encoding: 'utf8' });
    const tap = r.stdout.split('\n').filter((l) => /^(not )?ok \d+/.test(l));
    expect(tap.filter((l) => !l.startsWith('ok ') || l.includes('# SKIP'))).toEqual([]);
    expect(tap.length).toBeGreaterThanOrEqual(16);
    expect(r.status).toBe(0);
  });
});
