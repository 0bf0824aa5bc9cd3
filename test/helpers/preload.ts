/**
 * Runs the built berthd with a script preloaded (`node -r`) until it serves, stops it, and returns
 * what the script wrote at exit to the file named by BERTH_PRELOAD_OUT (JSON): how tests look at
 * what the real binary loads and reads at start-up.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD_BIN } from './daemon';
import { BERTHD_ENV, BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';
import { withDeferredExtraCa } from '../../src/core/node/extra-ca';

export async function recordWithPreload<T>(preload: string): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-preload-'));
  try {
    await writeFile(join(dir, 'preload.js'), preload);
    const out = join(dir, 'out.json');
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
        env: { ...withDeferredExtraCa(process.env), ...BERTHD_ENV, BERTH_PRELOAD_OUT: out },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const deadline = Date.now() + 15000;
    while (!stderr.includes('berthd serving')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`berthd did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    return JSON.parse(await readFile(out, 'utf8')) as T;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
