/** 50 `ctr run --rm` at once against berthd: all succeed with their own output, nothing leaks. */
import { CtrFixture, IMG, itCtrRoot, NO_LEAKS } from '../tasks/ctr-fixture';

const N = 50;
const f = new CtrFixture('conc');
beforeAll(() => f.setup(), 120_000);
afterAll(() => f.teardown(), 120_000);

describe('concurrent ctr run --rm', () => {
  itCtrRoot(
    `${N} in parallel all succeed with the right output and exit code`,
    async () => {
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          f.ctr(['run', '--rm', IMG, `par-${i}`, 'sh', '-c', `echo out-${i}; echo err-${i} >&2; exit ${i % 7}`], { timeoutMs: 110_000 }),
        ),
      );
      results.forEach((r, i) => expect({ i, ...r }).toEqual({ i, code: i % 7, signal: null, stdout: `out-${i}\n`, stderr: `err-${i}\n` }));
      expect((await f.ctr(['containers', 'ls', '-q'])).stdout).toBe('');
      expect((await f.ctr(['task', 'ls', '-q'])).stdout).toBe('');
      expect(await f.leaks()).toEqual(NO_LEAKS);
    },
    120_000,
  );
});
