/**
 * native/build/berth-heap.node: V8's memory-reducing collection, which Node 20 does not expose
 * (src/daemon/heap-reducer.ts). In CI it must be built: `make -C native` needs g++ and the
 * running node's headers.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { heapAddonPath, loadReduceMemory } from '../../src/daemon/heap-reducer';
import { BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';
import { describeWith, requirement } from '../helpers/requires';
import { recordWithPreload } from '../helpers/preload';

const ADDON = heapAddonPath();
const REDUCER = join(__dirname, '..', '..', 'dist', 'daemon', 'heap-reducer.js');

describeWith(requirement('berth-heap.node', ADDON ? undefined : 'native/build/berth-heap.node is not built: needs g++ and node headers (make -C native)'))(
  'berth-heap.node',
  () => {
    it('loads under this node', () => {
      const { reduce, why } = loadReduceMemory();
      expect(why).toBeUndefined();
      expect(typeof reduce).toBe('function');
    });

    // gc() frees the garbage but leaves its pages with the process; reduceMemory() gives them back.
    it('gives back to the OS what a gc() left resident', () => {
      const script = `
      const { reduce } = require(${JSON.stringify(REDUCER)}).loadReduceMemory();
      const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      let keep = [];
      for (let i = 0; i < 200000; i++) keep.push({ i, s: 'x' + i, a: [i, i + 1] });
      keep = null;
      gc();
      const before = rss();
      reduce();
      console.log(JSON.stringify({ before, after: rss() }));`;
      const { before, after } = JSON.parse(execFileSync(process.execPath, [...BERTHD_NODE_FLAGS, '-e', script], { encoding: 'utf8' })) as {
        before: number;
        after: number;
      };
      expect(before - after).toBeGreaterThan(8 << 20);
    });

    it('berthd loads it once it serves', async () => {
      const loaded = await recordWithPreload<string[]>(`
      const dlopen = process.dlopen, files = [];
      process.dlopen = function (m, f, ...rest) { files.push(f); return dlopen.call(this, m, f, ...rest); };
      process.on('exit', () => require('fs').writeFileSync(process.env.BERTH_PRELOAD_OUT, JSON.stringify(files)));`);
      expect(loaded).toContain(ADDON);
    });
  },
);

describe('loadReduceMemory', () => {
  it('gives the reason, not an exception, for a file that is not an addon or is not there', () => {
    expect(loadReduceMemory('/etc/hostname')).toEqual({ why: expect.stringContaining('/etc/hostname') });
    process.env.BERTH_HEAP_ADDON = ''; // none: as where g++ or node's headers were missing
    try {
      expect(loadReduceMemory()).toEqual({ why: expect.stringContaining('not built') });
    } finally {
      delete process.env.BERTH_HEAP_ADDON;
    }
  });
});
