/**
 * Launching both daemons the same way for fair numbers: private dirs, spawn, poll one Version RPC
 * every 5 ms. stop() leaves nothing behind: process gone, mounts under its dir undone, dir removed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startContainerd } from '../../test/helpers/containerd';
import { unmountUnder } from '../../test/helpers/mounts';
import { versionOk } from './grpc';
import { BERTHD_BIN } from './paths';
import type { Launched } from './workload';

export async function launchBerthd(opts: { timeoutMs?: number; logLevel?: string } = {}): Promise<Launched> {
  if (!existsSync(BERTHD_BIN)) throw new Error(`${BERTHD_BIN} missing: run npm run build`);
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-berthd-'));
  const address = join(dir, 'berthd.sock');
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [BERTHD_BIN, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address, '--log-level', opts.logLevel ?? 'warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (stderr.length < 65536) stderr += b.toString();
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (!gone()) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  try {
    while (!(existsSync(address) && (await versionOk(address)))) {
      if (gone()) throw new Error(`berthd exited ${child.exitCode ?? child.signalCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`berthd did not answer Version within ${opts.timeoutMs ?? 15000} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { address, pid: child.pid!, dir, startupMs: Number(process.hrtime.bigint() - t0) / 1e6, stop };
}

export async function launchContainerd(): Promise<Launched> {
  const c = await startContainerd({ probe: versionOk });
  return { address: c.address, pid: c.pid, dir: c.dir, startupMs: c.startupMs, ctr: (args, opts) => c.ctr(args, opts), stop: () => c.stop() };
}
