/**
 * The built `berth` binary against a real berthd child process (so a test can SIGKILL and restart
 * it): each test file uses its own namespace and dirs, images come in through `berth import`
 * (a tar built in the test), and the teardown removes every container and fails on anything left
 * (processes in the namespace's cgroups, mounts under the test dir).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client } from '../../src/client';
import { cgroupBaseDirs } from '../helpers/cleanup';
import { mountLines, namespaceLeaks } from '../helpers/engine';
import { DaemonProcess, REPO, testDirs, type TestDirs } from '../helpers/daemon';
import { busyboxEntries } from '../helpers/images';
import { layerTarStream, type FsEntry } from '../helpers/oci-layer';
import { slow } from '../helpers/slow';

export const BERTH_BIN = join(REPO, 'dist', 'cli', 'bin.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  raw: Buffer;
}

export class CliParityFixture {
  dirs!: TestDirs;
  daemon!: DaemonProcess;
  work!: string;
  client!: Client;
  readonly ns: string;
  private mountsBefore = new Set<string>();

  constructor(
    name: string,
    readonly daemonArgs: string[] = [],
  ) {
    this.ns = `${name}-${process.pid}`;
  }

  async setup(): Promise<void> {
    this.mountsBefore = mountLines();
    this.dirs = await testDirs('berth-cli-parity-');
    this.work = await mkdtemp(join(tmpdir(), 'berth-cli-parity-work-'));
    this.daemon = new DaemonProcess(this.dirs, this.daemonArgs);
    await this.daemon.start();
    this.client = new Client({ address: this.dirs.address, namespace: this.ns });
  }

  /** Runs `berth ARGS` as a user would (node and the built entry), with stdin from `input`. */
  berth(args: string[], opts: { input?: Buffer | string; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BERTH_BIN, '--address', this.dirs.address, ...args], {
        env: { ...process.env, BERTH_NAMESPACE: this.ns },
        cwd: opts.cwd ?? this.work,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), slow(opts.timeoutMs ?? 60_000));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const raw = Buffer.concat(out);
        resolve({ code: code ?? (signal ? 128 : -1), stdout: raw.toString(), stderr, raw });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input ?? '');
    });
  }

  /** `berth ARGS` that must succeed; returns its stdout. */
  async ok(args: string[], opts: { input?: Buffer | string; cwd?: string } = {}): Promise<string> {
    const r = await this.berth(args, opts);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  private imports = 0;

  /** Writes a tar of busybox plus `extra` entries, then `berth import`s it as `name` ('' = unnamed); returns the image id. */
  async importImage(name: string, extra: FsEntry[] = [], changes: string[] = ['CMD ["sh"]']): Promise<string> {
    const file = join(this.work, `${name.replace(/[/:]/g, '_') || `unnamed-${++this.imports}`}.tar`);
    await pipeline(layerTarStream({ entries: [...busyboxEntries(), ...extra] }), createWriteStream(file));
    return (await this.ok(['import', ...changes.flatMap((c) => ['--change', c]), file, ...(name ? [name] : [])])).trim();
  }

  async inspect(ref: string) {
    return this.client.engine.inspect({ container: ref });
  }

  /** SIGKILLs berthd (containers and their monitors live on) and starts it again on the same dirs. */
  async crashAndRestart(between?: () => Promise<void>): Promise<void> {
    this.client.close();
    await this.daemon.kill();
    await between?.();
    await this.daemon.start();
  }

  async teardown(): Promise<void> {
    const leftovers: string[] = [];
    try {
      const { containers } = await this.client.engine.list({ all: true });
      for (const c of containers)
        await this.client.engine.remove({ container: c.id, force: true, volumes: true }).catch((e) => leftovers.push(`rm ${c.id}: ${e}`));
    } finally {
      this.client.close();
      await this.daemon.stop();
      this.daemon.removeNetworking();
    }
    leftovers.push(...namespaceLeaks(this.ns, this.dirs.dir, this.mountsBefore));
    const parents = cgroupBaseDirs()
      .map((d) => join(d, 'berth', this.ns))
      .filter((p) => existsSync(p));
    for (const p of parents) for (const c of readdirSync(p)) if (statSync(join(p, c)).isDirectory()) leftovers.push(`cgroup ${join(p, c)}`);
    for (const p of parents) rmdirSync(p);
    if (existsSync(this.dirs.dir)) await rm(this.dirs.dir, { recursive: true, force: true });
    await rm(this.work, { recursive: true, force: true });
    if (leftovers.length) throw new Error(`cli parity test left things behind: ${leftovers.join('; ')}`);
  }
}
