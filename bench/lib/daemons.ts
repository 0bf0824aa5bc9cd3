/**
 * Launching both daemons the same way for fair numbers: private dirs, spawn, poll one Version RPC
 * every 5 ms. stop() leaves nothing behind: process gone, mounts under its dir undone, dir removed.
 * berthd's default network gets a bridge, subnet and chains of its own (as in tests): with berth's
 * defaults it would share `berth0` with any other berthd on the host and fail to start containers.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startContainerd } from '../../test/helpers/containerd';
import { ctr } from '../../test/helpers/ctr';
import { unmountUnder } from '../../test/helpers/mounts';
import { removeTestNetworking, testNetworkConfig } from '../../test/helpers/net';
import { BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';
import { untilVersion, versionOk } from './grpc';
import { BERTHD_BIN, berthdEnv } from './paths';
import type { Launched } from './workload';

/**
 * Kills and deletes every task and container in every namespace through ctr. berthd's monitors
 * (berth-helper) outlive the daemon by design, so a run interrupted in the middle of a container
 * workload would otherwise leave running containers, their monitors and cgroups behind.
 */
async function removeTasks(address: string): Promise<void> {
  const q = async (args: string[], ns?: string) => {
    const r = await ctr(address, args, { namespace: ns, timeoutMs: 15000 });
    return r.code === 0
      ? r.stdout
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
      : [];
  };
  // Repeated until a pass finds nothing: a `ctr run` in flight during the listing lands after it.
  for (let pass = 0; pass < 3; pass++) {
    let found = 0;
    for (const ns of await q(['namespaces', 'ls', '-q'])) {
      for (const line of (await q(['tasks', 'ls'], ns)).slice(1)) {
        found++;
        await ctr(address, ['tasks', 'rm', '-f', line.split(/\s+/)[0]!], { namespace: ns, timeoutMs: 15000 });
      }
      for (const id of await q(['containers', 'ls', '-q'], ns)) {
        found++;
        await ctr(address, ['containers', 'rm', id], { namespace: ns, timeoutMs: 15000 });
      }
    }
    if (!found) return;
  }
}

export async function launchBerthd(opts: { timeoutMs?: number; logLevel?: string; under?: string; env?: Record<string, string> } = {}): Promise<Launched> {
  if (!existsSync(BERTHD_BIN)) throw new Error(`${BERTHD_BIN} missing: run npm run build`);
  const dir = await mkdtemp(join(opts.under ?? tmpdir(), 'berth-bench-berthd-'));
  const address = join(dir, 'berthd.sock');
  const network = testNetworkConfig(dir);
  const config = join(dir, 'berthd-bench-config.json');
  writeFileSync(config, JSON.stringify({ network }));
  const t0 = process.hrtime.bigint();
  const args = ['--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', address, '--config', config, '--log-level', opts.logLevel ?? 'warn'];
  const child = spawn(process.execPath, [...BERTHD_NODE_FLAGS, BERTHD_BIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...berthdEnv(), ...opts.env },
    // Own process group: a terminal's Ctrl-C goes to the whole foreground group, and a berthd that
    // exited on it could no longer remove its tasks in stop() (their monitors outlive the daemon).
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (stderr.length < 65536) stderr += b.toString();
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (!gone()) {
      await removeTasks(address).catch(() => undefined);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    removeTestNetworking(network);
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await untilVersion(address, {
      what: 'berthd',
      timeoutMs: opts.timeoutMs ?? 15000,
      exited: () => (gone() ? String(child.exitCode ?? child.signalCode) : undefined),
      detail: () => stderr,
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { address, pid: child.pid!, dir, startupMs: Number(process.hrtime.bigint() - t0) / 1e6, stop };
}

export async function launchContainerd(opts: { under?: string } = {}): Promise<Launched> {
  // The fixture makes its dir under os.tmpdir(), read synchronously before its first await: TMPDIR
  // points there only for that call.
  const saved = process.env.TMPDIR;
  if (opts.under) process.env.TMPDIR = opts.under;
  let starting: ReturnType<typeof startContainerd>;
  try {
    starting = startContainerd({ probe: versionOk });
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  const c = await starting;
  return { address: c.address, pid: c.pid, dir: c.dir, startupMs: c.startupMs, ctr: (args, opts) => c.ctr(args, opts), stop: () => c.stop() };
}
