/**
 * The launch plan across the language boundary: berthd's encoder (src/tasks/helper/plan.ts) against
 * the helper's parser (native/helper/plan*.c, seccomp.c), through the TAP test program's --decode
 * mode; and the parser's own TAP tests (`make check`).
 */
import { join } from 'node:path';
import { encodePlan, type LaunchPlanInput } from '../../src/tasks/helper';
import { REPO } from '../helpers/daemon';
import { run } from '../helpers/ctr';

const TEST_PLAN = join(REPO, 'native', 'build', 'helper-obj', 'test_plan');

beforeAll(async () => {
  const r = await run('make', ['-s', '-C', join(REPO, 'native', 'helper'), 'check'], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`make check: ${r.stdout}${r.stderr}`);
}, 150_000);

it('the TAP tests of the plan parser pass (seccomp records included)', async () => {
  const r = await run(TEST_PLAN, []);
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^1\.\.(\d+)$/);
  expect(lines.filter((l) => l.startsWith('ok ')).length).toBe(Number(lines[0]!.slice(3)));
  expect(lines).toEqual(expect.arrayContaining(['ok 14 - test_seccomp', 'ok 15 - test_seccomp_refused']));
});

it('a seccomp filter berthd encodes is the program and flags the helper reads, byte for byte', async () => {
  // Every byte value, NUL and newline included: the record carries raw bytes.
  const program = Buffer.from(Array.from({ length: 8 * 40 }, (_, i) => (i * 7) % 256));
  const plan: LaunchPlanInput = { id: 'c1', stateDir: '/run/berth/c1', rootfs: '/r', cgroupPath: 'berth/c1', args: ['true'], noNewPrivileges: true, seccomp: { program, flags: 4 } };
  const r = await run(TEST_PLAN, ['--decode'], { input: encodePlan(plan) });
  expect(r.stdout).toBe(`id c1\nargs 1\nno_new_privileges 1\nseccomp_flags 4\nseccomp ${program.toString('hex')}\n`);
  const none = await run(TEST_PLAN, ['--decode'], { input: encodePlan({ ...plan, seccomp: undefined }) });
  expect(none.stdout).toContain('seccomp_flags 0\nseccomp \n');
});

it('the plan schema refuses what is no BPF program, and flags the helper does not apply', () => {
  const base: LaunchPlanInput = { id: 'c1', stateDir: '/run/berth/c1', rootfs: '/r', cgroupPath: 'berth/c1', args: ['true'] };
  expect(() => encodePlan({ ...base, seccomp: { program: Buffer.alloc(12), flags: 0 } })).toThrow(/BPF program/);
  expect(() => encodePlan({ ...base, seccomp: { program: Buffer.alloc(8 * 4097), flags: 0 } })).toThrow(/BPF program/);
  expect(() => encodePlan({ ...base, seccomp: { program: Buffer.alloc(8), flags: 8 } })).toThrow(/LOG and SPEC_ALLOW/);
});
