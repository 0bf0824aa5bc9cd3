/** `ctr run --with-ns`: join another container's namespace by path, keep the others fresh. */
import { readlinkSync } from 'node:fs';
import { CtrFixture, IMG, itCtrRoot } from '../tasks/ctr-fixture';

const f = new CtrFixture('withns');
beforeAll(() => f.setup(), 120_000);
afterAll(() => f.teardown(), 60_000);

describe('ctr run --with-ns', () => {
  itCtrRoot('joins the given network namespace and keeps a fresh uts namespace', async () => {
    expect((await f.ctr(['run', '-d', IMG, 'owner', 'sleep', '1000'])).code).toBe(0);
    try {
      const pid = Number(
        (await f.ctr(['task', 'ls'])).stdout
          .split('\n')
          .find((l) => l.startsWith('owner '))!
          .trim()
          .split(/\s+/)[1],
      );
      const net = readlinkSync(`/proc/${pid}/ns/net`);
      const uts = readlinkSync(`/proc/${pid}/ns/uts`);
      const r = await f.ctr([
        'run',
        '--rm',
        '--with-ns',
        `network:/proc/${pid}/ns/net`,
        IMG,
        'joiner',
        'sh',
        '-c',
        'readlink /proc/self/ns/net; readlink /proc/self/ns/uts',
      ]);
      expect(r.code).toBe(0);
      const [joinedNet, joinedUts] = r.stdout.trim().split('\n');
      expect(joinedNet).toBe(net);
      expect(joinedUts).not.toBe(uts);
      expect(joinedUts).not.toBe(readlinkSync('/proc/self/ns/uts'));
    } finally {
      await f.ctr(['task', 'kill', '-s', 'SIGKILL', 'owner']);
      for (let i = 0; i < 100 && (await f.ctr(['task', 'ls'])).stdout.includes('RUNNING'); i++) await new Promise((r) => setTimeout(r, 50));
      await f.ctr(['task', 'rm', 'owner']);
      await f.ctr(['containers', 'rm', 'owner']);
    }
  });
});
