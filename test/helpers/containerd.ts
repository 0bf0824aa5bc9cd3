/**
 * A private real containerd 1.6 for side-by-side comparison: its own root, state, sockets and opt
 * dir under one temp dir; CRI and network-needing plugins disabled. stop() kills it and its shims,
 * unmounts everything under its dirs and removes them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr, run, type RunResult } from './ctr';
import { pidsWithCmdline, unmountUnder } from './mounts';

export const CONTAINERD_BIN = '/usr/bin/containerd';

export interface Containerd {
  dir: string;
  root: string;
  state: string;
  address: string;
  pid: number;
  /** spawn → first successful readiness probe, in ms. */
  startupMs: number;
  /** stderr so far (log level warn), for failure messages. */
  log(): string;
  /** `ctr --address <sock> [--namespace ns] ...args`. */
  ctr(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number; namespace?: string }): Promise<RunResult>;
  stop(): Promise<void>;
}

function configToml(root: string, state: string, address: string, dir: string, extra = ''): string {
  // The shim socket dir is derived from the grpc address, so a private address means private shims.
  return `version = 2
root = ${JSON.stringify(root)}
state = ${JSON.stringify(state)}
plugin_dir = ""
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${JSON.stringify(address)}

[ttrpc]
  address = ${JSON.stringify(address + '.ttrpc')}

[debug]
  address = ""
  level = "warn"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = ${JSON.stringify(join(dir, 'opt'))}
${extra}`;
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function exited(c: ChildProcess): boolean {
  return c.exitCode !== null || c.signalCode !== null;
}

async function killAndWait(c: ChildProcess, timeoutMs: number): Promise<void> {
  if (exited(c)) return;
  const done = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
  await done;
  clearTimeout(t);
}

/**
 * Kills and deletes every task and container (all namespaces) through ctr, so shims exit cleanly,
 * runc state under /run/containerd/runc is deleted and no container process or cgroup is left.
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
  for (const ns of await q(['namespaces', 'ls', '-q'])) {
    for (const line of await q(['tasks', 'ls'], ns)) {
      const id = line.split(/\s+/)[0];
      if (id === 'TASK') continue;
      await ctr(address, ['tasks', 'rm', '-f', id], { namespace: ns, timeoutMs: 15000 });
    }
    for (const id of await q(['containers', 'ls', '-q'], ns)) await ctr(address, ['containers', 'rm', id], { namespace: ns, timeoutMs: 15000 });
  }
}

/**
 * The cgroup path containers of this containerd get: ctr would put them at `/<ns>/<id>`, i.e. outside
 * the test's own cgroup. `run` commands get `--cgroup <own>/berth-ctrd-<tag>/<id>` instead, where
 * <own> is the deepest of this process's cgroups (v1 controllers may differ; the others are `/`).
 */
function ownCgroup(): string {
  let best = '/';
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const path = line.split(':').slice(2).join(':');
    if (path && path.length > best.length) best = path;
  }
  return best;
}

function withCgroup(args: string[], parent: string): string[] {
  if (args[0] !== 'run' || args.some((a) => a === '--cgroup' || a.startsWith('--cgroup='))) return args;
  const flags = args.slice(1);
  // ctr run [flags] IMAGE ID cmd…: the id is the second positional argument.
  const positional = flags.filter(
    (a, i) =>
      !a.startsWith('-') &&
      !(
        i > 0 &&
        /^--(?:env|env-file|mount|label|cwd|log-uri|memory-limit|cpus|cpu-shares|cap-add|cap-drop|with-ns|snapshotter|runtime|uidmap|gidmap|user|hostname|annotation|seccomp-profile|apparmor-profile|platform|device|pid-file|fifo-dir|runc-binary)$/.test(
          flags[i - 1]!,
        )
      ),
  );
  const id = positional[1] ?? `c${Date.now()}`;
  return ['run', '--cgroup', `${parent}/${id}`, ...flags];
}

/** Removes the cgroup dirs our containers got, deepest first, in every hierarchy (they are empty once tasks are gone). */
async function removeCgroups(parent: string): Promise<void> {
  const bases = ['/sys/fs/cgroup', ...readdirSafe('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c))];
  for (const base of bases) {
    const dir = join(base, parent);
    if (existsSync(dir)) await removeTree(dir);
  }
}

/** rmdir of a cgroup dir and every dir under it, deepest first (a ctr id with slashes nests several levels). */
async function removeTree(dir: string): Promise<void> {
  for (const child of readdirSafe(dir)) {
    const p = join(dir, child);
    if (statSync(p).isDirectory()) await removeTree(p);
  }
  await rmdir(dir).catch(() => undefined);
}

function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

/** containerd 1.6's shim socket: /run/containerd/s/sha256(<grpc address>/<ns>/<id>), from the shim's argv. */
function shimSocket(address: string, pid: number): string | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const arg = (n: string) => argv[argv.indexOf(n) + 1];
    if (!argv.includes('-namespace') || !argv.includes('-id')) return undefined;
    return `/run/containerd/s/${createHash('sha256')
      .update(join(address, arg('-namespace'), arg('-id')))
      .digest('hex')}`;
  } catch {
    return undefined;
  }
}

/**
 * Starts containerd; resolves once `probe` (default: `ctr version`) succeeds on its socket (≈0.3 s).
 * Benchmarks pass a cheaper probe (one Version RPC) so startupMs is not dominated by exec of ctr.
 */
export async function startContainerd(
  opts: {
    timeoutMs?: number;
    extraArgs?: string[];
    probe?: (address: string) => Promise<boolean>;
    /** TOML appended inside [plugins], e.g. a snapshotter or gc setting (indent as a sub-table). */
    extraConfig?: string;
  } = {},
): Promise<Containerd> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-ctrd-'));
  const root = join(dir, 'root');
  const state = join(dir, 'state');
  const address = join(dir, 'containerd.sock');
  await mkdir(root, { recursive: true });
  await mkdir(state, { recursive: true });
  const configPath = join(dir, 'config.toml');
  await writeFile(configPath, configToml(root, state, address, dir, opts.extraConfig));
  const cgroupParent = `${ownCgroup().replace(/\/$/, '')}/berth-ctrd-${process.pid}-${dir.slice(-6)}`;
  const t0 = process.hrtime.bigint();
  const child = spawn(CONTAINERD_BIN, ['--config', configPath, '--log-level', 'warn', ...(opts.extraArgs ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const stop = async () => {
    if (!exited(child)) await removeTasks(address);
    await killAndWait(child, 5000);
    // Shims outlive containerd by design; ours are the ones started with our address.
    for (const pid of pidsWithCmdline('containerd-shim', address)) {
      const sock = shimSocket(address, pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      if (sock) await rm(sock, { force: true });
    }
    await unmountUnder(dir);
    await removeCgroups(cgroupParent);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => exited(child) || existsSync(address), opts.timeoutMs ?? 15000, `containerd socket ${address}`, 5);
    if (exited(child)) throw new Error(`containerd exited ${child.exitCode}: ${stderr}`);
    const probe = opts.probe ?? (async (a: string) => (await ctr(a, ['version'], { timeoutMs: 5000 })).code === 0);
    await waitFor(() => probe(address), opts.timeoutMs ?? 15000, 'containerd to answer', 5);
  } catch (e) {
    await stop();
    throw e;
  }
  const startupMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    dir,
    root,
    state,
    address,
    pid: child.pid!,
    startupMs,
    log: () => stderr,
    ctr: (args, o = {}) => ctr(address, withCgroup(args, cgroupParent), o),
    stop,
  };
}

/** Runs fn with a fresh containerd and always stops it. */
export async function withContainerd<T>(fn: (c: Containerd) => Promise<T>): Promise<T> {
  const c = await startContainerd();
  try {
    return await fn(c);
  } finally {
    await c.stop();
  }
}

/** Throws with stderr if a ctr call failed (keeps fixture code short). */
export function ok(r: RunResult, what = 'ctr'): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code ?? r.signal}: ${r.stderr || r.stdout}`);
  return r;
}

export { run };
