/**
 * berthd's start-up runs with 4 × V8's interrupt budget, so that V8 optimizes nothing before it
 * serves (TurboFan's code would stay in an idle daemon's memory), and V8's own budget once it
 * does (node-flags.ts, src/daemon/jit-budget.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD_NODE_FLAGS, V8_INTERRUPT_BUDGET } from '../../src/daemon/node-flags';
import { serveWith } from '../helpers/preload';

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
      const serving = await serveWith(dir, ['--trace-opt']);
      await new Promise((r) => setTimeout(r, 300));
      await serving.stop();
      expect(
        serving
          .stdout()
          .split('\n')
          .filter((l) => l.startsWith('[marking') || l.startsWith('[compiling method')),
      ).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
