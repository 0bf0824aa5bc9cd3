/** The monitor outlives berthd, so it must hold nothing of berthd's: no metadata DB files, no stray pipes. */
import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
import { CtrFixture, IMG, itCtrRoot } from '../tasks/ctr-fixture';

const f = new CtrFixture('monfds');
beforeAll(() => f.setup(), 120_000);
afterAll(() => f.teardown(), 60_000);

function helperPids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/exe`).endsWith('berth-helper') && readFileSync(`/proc/${pid}/environ`, 'utf8') !== undefined;
      } catch {
        return false;
      }
    });
}

describe('the container monitor', () => {
  itCtrRoot('holds no file of berthd root (LevelDB opens without O_CLOEXEC) and no pipe but its stdin relay', async () => {
    const before = new Set(helperPids());
    expect((await f.ctr(['run', '-d', IMG, 'fds', 'sleep', '1000'])).code).toBe(0);
    try {
      const mine = helperPids().filter((p) => !before.has(p));
      expect(mine.length).toBeGreaterThan(0);
      for (const pid of mine) {
        const targets = readdirSync(`/proc/${pid}/fd`).map((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return '';
          }
        });
        expect(targets.filter((t) => t.startsWith(f.dirs.root))).toEqual([]);
        // The only pipe a monitor may hold is the stdin relay whose other end is the container's fd 0.
        const initPid = Number(
          (await f.ctr(['task', 'ls'])).stdout
            .split('\n')
            .find((l) => l.startsWith('fds '))!
            .trim()
            .split(/\s+/)[1],
        );
        const initStdin = readlinkSync(`/proc/${initPid}/fd/0`);
        expect(targets.filter((t) => t.startsWith('pipe:') && t !== initStdin)).toEqual([]);
      }
    } finally {
      await f.ctr(['task', 'kill', '-s', 'SIGKILL', 'fds']);
      for (let i = 0; i < 100 && (await f.ctr(['task', 'ls'])).stdout.includes('RUNNING'); i++) await new Promise((r) => setTimeout(r, 50));
      await f.ctr(['task', 'rm', 'fds']);
      await f.ctr(['containers', 'rm', 'fds']);
    }
  });
});
