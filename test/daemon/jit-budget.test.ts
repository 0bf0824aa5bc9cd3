/**
 * berthd's start-up runs with 4 × V8's interrupt budget, so that V8 optimizes nothing before it
 * serves (TurboFan's code would stay in an idle daemon's memory), and V8's own budget once it
 * does (node-flags.ts, src/daemon/jit-budget.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDeferredExtraCa } from '../../src/core/node/extra-ca';
import { BERTHD_ENV, BERTHD_NODE_FLAGS, V8_INTERRUPT_BUDGET } from '../../src/daemon/node-flags';
import { BERTHD_BIN } from '../helpers/daemon';

const REPO = join(__dirname, '..', '..');
const STARTUP_BUDGET = BERTHD_NODE_FLAGS.find((f) => f.startsWith('--interrupt-budget='))!;

describe("berthd's JIT budget", () => {
  it("V8_INTERRUPT_BUDGET is this node's default", () => {
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    expect(options).toContain(`default: --interrupt-budget=${V8_INTERRUPT_BUDGET}\n`);
    expect(STARTUP_BUDGET).toBe(`--interrupt-budget=${4 * V8_INTERRUPT_BUDGET}`);
  });

  // A function called 400 times is marked for optimization under V8's budget, not under 4 × it.
  const HOT = (restore: boolean) => `
    ${restore ? `require(${JSON.stringify(join(REPO, 'dist', 'daemon', 'jit-budget.js'))}).restoreInterruptBudget();` : ''}
    function hot(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
    let t = 0; for (let k = 0; k < 400; k++) t += hot(10);
  `;
  const marked = (restore: boolean) =>
    /marking .*<JSFunction hot /.test(execFileSync(process.execPath, [STARTUP_BUDGET, '--trace-opt', '-e', HOT(restore)], { encoding: 'utf8' }));

  it('restoreInterruptBudget() gives hot code V8 tiers up as under its own budget', () => {
    expect(marked(false)).toBe(false);
    expect(marked(true)).toBe(true);
  });

  it('berthd optimizes nothing before it serves', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-jit-'));
    try {
      const child = spawn(
        process.execPath,
        [...BERTHD_NODE_FLAGS, '--trace-opt', BERTHD_BIN, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', join(dir, 's.sock')],
        { env: { ...withDeferredExtraCa(process.env), ...BERTHD_ENV }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      const deadline = Date.now() + 15000;
      while (!stderr.includes('berthd serving')) {
        if (child.exitCode !== null || Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`berthd did not start: ${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 300));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      expect(stdout.split('\n').filter((l) => l.startsWith('[marking') || l.startsWith('[compiling method'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
