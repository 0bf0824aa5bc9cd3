/**
 * The resource, pause/resume, device, metrics, user-namespace and `ctr run` tests again, on a
 * cgroup-v2-only host: a qemu VM (Debian kernel, software emulation) that shares this machine's
 * root read-only, mounts only cgroup2, and runs them with jest inside a delegated service cgroup.
 * This machine is a v1/v2 hybrid, so without the VM no test would run berth's v2 code.
 */
import { describeWith, requireRoot, requireTool } from '../helpers/requires';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bootVm, vmUnavailable, type BootResult } from './qemu';
import { transpileTests } from './transpile';

const REPO = resolve(__dirname, '..', '..');

/**
 * What runs in the guest: each file's tests whose full names match `tests` must pass there (the
 * others are left out to keep the run short: under emulation each ctr fixture alone costs a berthd
 * start, an image build and an import, ~40 s). Every file's cgroup, device, OOM, freezer, metrics
 * and user-namespace cases are in.
 */
export const GUEST_TESTS: { file: string; tests: string }[] = [
  { file: 'test/native/cgroups.test.ts', tests: '^berth-helper cgroups ' },
  { file: 'test/native/unit-c.test.ts', tests: '^berth-helper C unit tests ' },
  { file: 'test/native/userns.test.ts', tests: '^berth-helper with a user namespace ' },
  { file: 'test/interop/ctr-task.test.ts', tests: '^ctr run -d and ctr task … against berthd run -d, task ls/ps/exec/pause/resume/metrics' },
  {
    file: 'test/interop/ctr-run.test.ts',
    tests: '^ctr run --rm against berthd (prints stdout|a SIGKILLed task|--memory-limit and --cpus|an out-of-memory run)',
  },
  { file: 'test/interop/ctr-run-remap.test.ts', tests: '^berthd --userns-remap a container (runs as the subordinate ids|on the host network)' },
];

interface AssertionResult {
  fullName: string;
  status: string;
  failureMessages: string[];
  duration?: number;
}
interface FileResult {
  name: string;
  status: string;
  message: string;
  assertionResults: AssertionResult[];
  startTime: number;
  endTime: number;
}

const describeRoot = describeWith(requireRoot(), requireTool('qemu-system-x86_64'));

describeRoot('on a cgroup-v2-only host (a VM this test boots)', () => {
  let work: string;
  let boot: BootResult;
  let files: FileResult[] = [];

  beforeAll(async () => {
    const why = vmUnavailable();
    if (why) throw new Error(`cannot boot the cgroup-v2 VM: ${why} (scripts/install-deps.sh installs it)`);
    work = mkdtempSync(join(tmpdir(), 'berth-vm-'));
    const started = Date.now();
    transpileTests(
      REPO,
      GUEST_TESTS.map((t) => t.file),
      join(work, 'js'),
    );
    const config = {
      rootDir: '/vmwork/js',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.js'],
      testEnvironment: 'node',
      transform: {},
      watchman: false,
      cacheDirectory: '/tmp/jest-cache',
      // Everything runs 20-50 times slower under software emulation.
      testTimeout: 300_000,
    };
    writeFileSync(join(work, 'jest.config.json'), JSON.stringify(config));
    const jsFiles = GUEST_TESTS.map((t) => t.file.replace(/\.ts$/, '.js'));
    const names = GUEST_TESTS.map((t) => `(${t.tests})`).join('|');
    writeFileSync(
      join(work, 'run.sh'),
      `cd /vmwork/js && BERTH_TEST_SLOWDOWN=20 exec node ${REPO}/node_modules/jest/bin/jest.js --config /vmwork/jest.config.json --runInBand --ci --json --outputFile=/vmwork/results.json --testNamePattern '${names.replace(/'/g, "'\\''")}' ${jsFiles.join(' ')} 2>&1\n`,
    );
    boot = await bootVm({ workDir: work, stage2: join(REPO, 'test/vm/guest-init.sh'), timeoutMs: 12 * 60_000 });
    writeFileSync(join(work, 'console.log'), boot.console);
    try {
      files = JSON.parse(readFileSync(join(work, 'results.json'), 'utf8')).testResults;
    } catch {
      throw new Error(`the guest wrote no results (status ${boot.status}); console:\n${boot.console.slice(-6000)}`);
    }
    const per = files.map((f) => `${f.name.replace('/vmwork/js/', '')} ${((f.endTime - f.startTime) / 1000).toFixed(1)} s`).join(', ');
    console.log(`cgroup-v2 VM: ${((Date.now() - started) / 1000).toFixed(1)} s in all (qemu ${boot.seconds.toFixed(1)} s; ${per})`);
  }, 15 * 60_000);

  afterAll(() => {
    // BERTH_VM_KEEP=1 keeps the guest's console.log, results.json and compiled tests for a look.
    if (work && process.env.BERTH_VM_KEEP) console.log(`cgroup-v2 VM: kept ${work}`);
    else if (work) rmSync(work, { recursive: true, force: true });
  });

  it.each(GUEST_TESTS)('$file: the chosen tests pass in the guest', ({ file, tests }) => {
    const r = files.find((f) => f.name === `/vmwork/js/${file.replace(/\.ts$/, '.js')}`);
    if (!r) throw new Error(`${file} did not run in the guest; console:\n${boot.console.slice(-4000)}`);
    const chosen = r.assertionResults.filter((a) => new RegExp(tests).test(a.fullName));
    const bad = chosen.filter((a) => a.status !== 'passed').map((a) => `${a.status}: ${a.fullName}\n${a.failureMessages.join('\n')}`);
    if (r.message && bad.length === 0 && r.status !== 'passed') bad.push(r.message);
    expect(bad).toEqual([]);
    expect(chosen.length).toBeGreaterThan(0);
  });

  it('the guest was cgroup v2 only and the run ended cleanly', () => {
    expect(boot.console).toMatch(/cgroup cgroup2fs, controllers: cpuset cpu io memory .*pids/);
    expect(boot.status).toBe(0);
  });
});
