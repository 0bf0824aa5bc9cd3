/**
 * src/daemon/code-flushing.ts: once berthd serves, V8's own full GCs drop the bytecode of
 * functions that have not run since the previous one (V8's default waits for 5). Seen here through
 * V8's count of bytecode bytes after 4 full GCs that V8 starts itself (gc() does not flush: a
 * forced GC keeps all code).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FLUSHING = join(__dirname, '..', '..', 'dist', 'daemon', 'code-flushing.js');

describe('code flushing', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-flush-'));
    // 2,000 functions that each run once, as start-up's wiring does.
    const fns = Array.from(
      { length: 2000 },
      (_, i) => `function f${i}(a) { let s = a; for (let k = 0; k < 3; k++) s = (s * 31 + ${i}) % 1000003; return [s, { v${i}: s }]; }`,
    );
    writeFileSync(join(dir, 'once.js'), `${fns.join('\n')}\n${Array.from({ length: 2000 }, (_, i) => `f${i}(${i});`).join('\n')}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const bytecodeAfterFullGcs = (flush: boolean): number => {
    const script = `
      const v8 = require('node:v8');
      const { PerformanceObserver, constants } = require('node:perf_hooks');
      require(${JSON.stringify(join(dir, 'once.js'))});
      ${flush ? `require(${JSON.stringify(FLUSHING)}).flushCodeUnusedSinceLastGc();` : ''}
      let majors = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; }).observe({ entryTypes: ['gc'] });
      let keep = [];
      (function churn() {
        for (let i = 0; i < 20; i++) { keep.push(new Array(50000).fill({ i })); if (keep.length > 10) keep.shift(); }
        if (majors < 4) return setImmediate(churn);
        keep = [];
        console.log(v8.getHeapCodeStatistics().bytecode_and_metadata_size);
      })();`;
    return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
  };

  it('V8 drops the bytecode of functions that ran once, at its own full GCs', () => {
    const kept = bytecodeAfterFullGcs(false);
    const flushed = bytecodeAfterFullGcs(true);
    expect(kept).toBeGreaterThan(100 << 10);
    expect(flushed).toBeLessThan(kept / 2);
  });

  it('a function whose bytecode was dropped runs again (compiled again from its source)', () => {
    const script = `
      function once(a) { return a * 2 + 1; }
      once(1);
      require(${JSON.stringify(FLUSHING)}).flushCodeUnusedSinceLastGc();
      let keep = [], n = 0;
      (function churn() {
        for (let i = 0; i < 20; i++) { keep.push(new Array(50000).fill({ i })); if (keep.length > 10) keep.shift(); }
        if (++n < 200) return setImmediate(churn);
        console.log(once(20));
      })();`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()).toBe('41');
  });
});
