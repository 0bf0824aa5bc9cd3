/**
 * berthd loads compiled descriptors, never the .proto text: the real binary, once serving, has
 * loaded neither protobufjs nor proto-loader nor grpc-js, and has opened no .proto file.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD_BIN } from '../helpers/daemon';
import { BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';

// Preloaded into berthd: records every module it loads and every file it reads, written at exit.
const PRELOAD = `
const fs = require('node:fs');
const out = process.env.BERTH_MODULES_OUT;
const read = [];
for (const name of ['readFileSync', 'openSync']) {
  const orig = fs[name];
  fs[name] = function (p, ...rest) { if (typeof p === 'string') read.push(p); return orig.call(this, p, ...rest); };
}
process.on('exit', () => fs.writeFileSync(out, JSON.stringify({ modules: Object.keys(require.cache), read })));
`;

describe('berthd start-up', () => {
  it('loads no proto parser and reads no .proto file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-modules-'));
    try {
      await writeFile(join(dir, 'preload.js'), PRELOAD);
      const out = join(dir, 'modules.json');
      const child = spawn(process.execPath, [...BERTHD_NODE_FLAGS, '-r', join(dir, 'preload.js'), BERTHD_BIN, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', join(dir, 's.sock'), '--log-level', 'info'], {
        env: { ...process.env, BERTH_MODULES_OUT: out },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      const deadline = Date.now() + 15000;
      while (!stderr.includes('berthd serving')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`berthd did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      const { modules, read } = JSON.parse(await readFile(out, 'utf8')) as { modules: string[]; read: string[] };
      expect(modules.length).toBeGreaterThan(0);
      expect(modules.filter((m) => /node_modules[\\/](protobufjs|@grpc[\\/])/.test(m))).toEqual([]);
      expect(read.filter((p) => p.endsWith('.proto'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
