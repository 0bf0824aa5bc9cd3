/**
 * Runs the built berthd with extra node arguments (a script preloaded with `node -r`, a V8 trace
 * flag) until it serves: how tests look at what the real binary loads, reads and compiles at
 * start-up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTHD_BIN } from './daemon';
import { BERTHD_ENV, BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';
import { withDeferredExtraCa } from '../../src/core/node/extra-ca';

export interface Serving {
  child: ChildProcess;
  /** What berthd wrote to stdout so far. */
  stdout(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** berthd with its node flags and `nodeArgs`, its root, state and socket in `dir`, once it logs that it serves. */
export async function serveWith(dir: string, nodeArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<Serving> {
  const child = spawn(
    process.execPath,
    [
      ...BERTHD_NODE_FLAGS,
      ...nodeArgs,
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
    { env: { ...withDeferredExtraCa(process.env), ...BERTHD_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
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
  return {
    child,
    stdout: () => stdout,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs berthd with `preload` until it serves, stops it, and returns what the script wrote at exit to the file named by BERTH_PRELOAD_OUT (JSON). */
export async function recordWithPreload<T>(preload: string): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-preload-'));
  try {
    await writeFile(join(dir, 'preload.js'), preload);
    const out = join(dir, 'out.json');
    const serving = await serveWith(dir, ['-r', join(dir, 'preload.js')], { BERTH_PRELOAD_OUT: out });
    await serving.stop();
    return JSON.parse(await readFile(out, 'utf8')) as T;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
