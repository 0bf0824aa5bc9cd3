/**
 * Node's built-in modules berthd loads, and when. Under berthd's V8 flags Node compiles each from
 * source (node-flags.ts), so what is loaded before the socket is bound delays the first answer:
 * fs/promises (with readline and fs's watchers), crypto, zlib and http load after it
 * (load-in-turns.ts), and http, https and tls only at a registry's first request (remotes/http.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD_BIN } from '../helpers/daemon';
import { BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';

// Preloaded into berthd: the built-ins loaded when it first listens, and when it exits.
const PRELOAD = `
const fs = require('node:fs');
const net = require('node:net');
const builtins = () => process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
let atListen;
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) { atListen ??= builtins(); return listen.apply(this, args); };
process.on('exit', () => fs.writeFileSync(process.env.BERTH_BUILTINS_OUT, JSON.stringify({ atListen, atExit: builtins() })));
`;

describe("berthd's built-in modules", () => {
  it('loads none of the heavy ones before listening, and no http, https or tls while idle', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-builtins-'));
    try {
      await writeFile(join(dir, 'preload.js'), PRELOAD);
      const out = join(dir, 'builtins.json');
      const child = spawn(
        process.execPath,
        [
          ...BERTHD_NODE_FLAGS,
          '-r',
          join(dir, 'preload.js'),
          BERTHD_BIN,
          '--root',
          join(dir, 'root'),
          '--state',
          join(dir, 'state'),
          '--address',
          join(dir, 's.sock'),
          '--log-level',
          'info',
        ],
        {
          env: { ...process.env, BERTH_BUILTINS_OUT: out },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
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
      const { atListen, atExit } = JSON.parse(await readFile(out, 'utf8')) as { atListen: string[]; atExit: string[] };
      expect(atListen).toContain('net');
      expect(atListen.filter((m) => ['fs/promises', 'readline', 'crypto', 'zlib', 'http', 'https', 'tls'].includes(m))).toEqual([]);
      // Loaded while wiring: the check above would pass on a list that missed them.
      expect(atExit).toEqual(expect.arrayContaining(['fs/promises', 'crypto', 'zlib']));
      expect(atExit.filter((m) => ['http', 'https', 'tls'].includes(m))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
