import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as grpcTypes from '@grpc/grpc-js';
import type { Daemon } from '../../src/daemon/main';
import type { Config } from '../../src/daemon/config';
import { BERTHD_ENV, BERTHD_NODE_FLAGS } from '../../src/daemon/node-flags';
import { withDeferredExtraCa } from '../../src/core/node/extra-ca';
import { nullLogger } from '../../src/core/logger';
import { removeTestNetworking, testNetworkConfig } from './net';
import { slow } from './slow';

/*
 * The daemon, grpc-js and the protos load on first use: tests that only spawn berthd (the ctr
 * fixtures) skip them, which matters most in test/vm's emulated guest (seconds per test file).
 */
const grpc = (): typeof import('@grpc/grpc-js') => require('@grpc/grpc-js');
const daemonMain = (): typeof import('../../src/daemon/main') => require('../../src/daemon/main');
const daemonConfig = (): typeof import('../../src/daemon/config') => require('../../src/daemon/config');
const protos = (): typeof import('../../src/api/reflect') => require('../../src/api/reflect');

export const REPO = resolve(__dirname, '..', '..');
export const BERTHD_BIN = join(REPO, 'dist', 'daemon', 'bin.js');

export interface TestDirs {
  dir: string;
  root: string;
  state: string;
  address: string;
}

export async function testDirs(prefix = 'berth-test-'): Promise<TestDirs> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, root: join(dir, 'root'), state: join(dir, 'state'), address: join(dir, 'berthd.sock') };
}

/** berthd in this process (fast; for service tests). */
export async function startInProcess(overrides: Partial<Config> = {}, dirs?: TestDirs): Promise<{ daemon: Daemon; dirs: TestDirs; stop(): Promise<void> }> {
  const d = dirs ?? (await testDirs());
  const config = daemonConfig().ConfigSchema.parse({
    root: d.root,
    state: d.state,
    address: d.address,
    logLevel: 'error',
    network: testNetworkConfig(d.dir),
    ...overrides,
  });
  const daemon = await daemonMain().startDaemon(config, nullLogger);
  return {
    daemon,
    dirs: d,
    stop: async () => {
      await daemon.close();
      if (dirs) return; // the caller's dirs: its fixture takes the networking back (it may start berthd again)
      if (!overrides.network) removeTestNetworking(testNetworkConfig(d.dir));
      await rm(d.dir, { recursive: true, force: true });
    },
  };
}

/**
 * How the kernel runs a built bin (dist/daemon/bin.js, dist/cli/bin.js) that has the run bit, as
 * an installed one does: its `#!/usr/bin/env -S …` line's argument, then the file.
 */
export function viaShebang(bin: string, args: readonly string[]): [string, string[]] {
  const line = readFileSync(bin, 'utf8').split('\n', 1)[0]!;
  const m = /^#!(\/usr\/bin\/env) (.+)$/.exec(line);
  if (!m) throw new Error(`${bin}: no #!/usr/bin/env line`);
  return [m[1]!, [m[2]!, bin, ...args]];
}

/** The real berthd binary as a child process (for crash and restart tests, and for ctr). */
export class DaemonProcess {
  child?: ChildProcess;
  stderr = '';
  /** `launch.viaShebang`: started as an installed bin is (viaShebang), in `launch.env`, not with the launchers' flags and environment. */
  constructor(
    readonly dirs: TestDirs,
    readonly extraArgs: string[] = [],
    readonly launch: { viaShebang?: boolean; env?: NodeJS.ProcessEnv } = {},
  ) {}

  async start(timeoutMs = 15000): Promise<void> {
    const { root, state, address } = this.dirs;
    this.stderr = '';
    // Networking of its own (bridge, pool, chains), unless the test brings a config.
    const config = this.extraArgs.includes('--config') ? [] : ['--config', this.networkConfigFile()];
    const args = ['--root', root, '--state', state, '--address', address, '--log-level', 'debug', ...config, ...this.extraArgs];
    const [file, argv] = this.launch.viaShebang ? viaShebang(BERTHD_BIN, args) : [process.execPath, [...BERTHD_NODE_FLAGS, BERTHD_BIN, ...args]];
    const env = this.launch.viaShebang ? (this.launch.env ?? process.env) : { ...withDeferredExtraCa(this.launch.env ?? process.env), ...BERTHD_ENV };
    const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], env });
    this.child = child;
    child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    const deadline = Date.now() + slow(timeoutMs);
    while (!this.stderr.includes('berthd serving')) {
      if (child.exitCode !== null) throw new Error(`berthd exited ${child.exitCode}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`berthd did not start: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private networkConfigFile(): string {
    const p = join(this.dirs.dir, 'berthd-test-config.json');
    writeFileSync(p, JSON.stringify({ network: testNetworkConfig(this.dirs.dir) }));
    return p;
  }

  /**
   * Takes back the bridge and chains of the networking start() gave it (berthd keeps them across
   * restarts by design, as dockerd keeps docker0): for the end of a test, after stop().
   */
  removeNetworking(): void {
    if (!this.extraArgs.includes('--config')) removeTestNetworking(testNetworkConfig(this.dirs.dir));
  }

  /** SIGKILL: no shutdown code runs (a crash). */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(sig);
    await exited;
  }
}

export async function startProcess(dirs?: TestDirs, extraArgs: string[] = []): Promise<{ proc: DaemonProcess; dirs: TestDirs; stop(): Promise<void> }> {
  const d = dirs ?? (await testDirs());
  const proc = new DaemonProcess(d, extraArgs);
  await proc.start();
  return {
    proc,
    dirs: d,
    stop: async () => {
      await proc.stop();
      proc.removeNetworking();
      if (!dirs) await rm(d.dir, { recursive: true, force: true });
    },
  };
}

/** A raw grpc-js client for one service (full name), with the namespace header set. */
export function rawClient(address: string, service: string): grpcTypes.Client {
  const Ctor = protos().serviceClient(service);
  return new Ctor(`unix://${address}`, grpc().credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 << 20,
    'grpc.max_send_message_length': 16 << 20,
  });
}

export function nsMetadata(ns = 'default', lease?: string): grpcTypes.Metadata {
  const md = new (grpc().Metadata)();
  if (ns) md.set('containerd-namespace', ns);
  if (lease) md.set('containerd-lease', lease);
  return md;
}

/** Promisified unary call: `await call(client, 'Get', req, md)`. */
export function call<Res = any>(client: grpcTypes.Client, method: string, req: unknown, md = nsMetadata()): Promise<Res> {
  return new Promise((resolve, reject) => {
    (client as any)[method](req, md, (err: grpcTypes.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}

/** Collects a server stream into an array. */
export function collect<Res = any>(client: grpcTypes.Client, method: string, req: unknown, md = nsMetadata()): Promise<Res[]> {
  return new Promise((resolve, reject) => {
    const out: Res[] = [];
    const s = (client as any)[method](req, md);
    s.on('data', (m: Res) => out.push(m));
    s.on('error', reject);
    s.on('end', () => resolve(out));
  });
}

export { nullLogger };
