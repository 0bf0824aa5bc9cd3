/**
 * Shared setup for the `ctr run` family tests: a real berthd process, a busybox image imported
 * with the real ctr, a private namespace (so cgroups `berth/<ns>/…` and leak checks are ours
 * alone), and leak checks scoped to this daemon: mounts, cgroups, processes, FIFO fds, state dirs.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctr, run, type RunResult } from '../helpers/ctr';
import { slow } from '../helpers/slow';
import { DaemonProcess, testDirs, type TestDirs } from '../helpers/daemon';
import { cgroupBaseDirs } from '../helpers/cleanup';
import { busyboxImage } from '../helpers/images';
import { writeOciArchive, writeOciImage, type ImageSpec } from '../helpers/oci';
import { itWith, requireRoot, requireTool } from '../helpers/requires';

/** What every `ctr run` family test needs. */
export const CTR_ROOT = [requireTool('ctr'), requireRoot()];
export const itCtrRoot = itWith(...CTR_ROOT);
export const IMG = 'docker.io/library/busybox:berth';

function mountLines(): Set<string> {
  return new Set(
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').slice(3, 5).join(' ')),
  );
}

export class CtrFixture {
  dirs!: TestDirs;
  proc!: DaemonProcess;
  work!: string;
  readonly ns: string;
  private mountsBefore = new Set<string>();

  constructor(
    name: string,
    private readonly opts: { daemonArgs?: string[]; image?: ImageSpec } = {},
  ) {
    this.ns = `${name}-${process.pid}`;
  }

  get address(): string {
    return this.dirs.address;
  }

  async setup(): Promise<void> {
    this.mountsBefore = mountLines();
    this.dirs = await testDirs('berth-run-');
    this.work = await mkdtemp(join(tmpdir(), 'berth-run-work-'));
    this.proc = new DaemonProcess(this.dirs, this.opts.daemonArgs);
    await this.proc.start();
    const img = await writeOciImage(join(this.work, 'layout'), this.opts.image ?? busyboxImage(IMG));
    await writeOciArchive(img.layoutDir, join(this.work, 'busybox.tar'));
    const r = await this.ctr(['images', 'import', join(this.work, 'busybox.tar')], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
  }

  async teardown(): Promise<void> {
    // Safety net: never leave a container behind, even when a test failed half-way.
    const ls = await this.ctr(['task', 'ls', '-q']).catch(() => undefined);
    for (const id of ls?.stdout.split('\n').filter(Boolean) ?? []) {
      await this.ctr(['task', 'kill', '-a', '-s', 'SIGKILL', id]);
      await this.ctr(['task', 'rm', '-f', id]);
    }
    for (const id of (await this.ctr(['containers', 'ls', '-q']).catch(() => undefined))?.stdout.split('\n').filter(Boolean) ?? [])
      await this.ctr(['containers', 'rm', id]);
    // Monitors remove their container's cgroup as they exit; berthd removes the `berth/<ns>`
    // parents they leave when it stops: wait for the monitors, stop, then nothing may be left.
    for (const deadline = Date.now() + slow(10_000); this.ourPids().length > 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    await this.proc?.stop();
    this.proc?.removeNetworking();
    const parents = cgroupBaseDirs()
      .map((d) => join(d, 'berth', this.ns))
      .filter((p) => existsSync(p));
    await rm(this.dirs.dir, { recursive: true, force: true });
    await rm(this.work, { recursive: true, force: true });
    if (parents.length) {
      for (const d of parents) rmdirSync(d, { recursive: false });
      throw new Error(`berthd left cgroup parents behind when it stopped: ${parents.join(', ')}`);
    }
  }

  ctr(args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
    return ctr(this.address, args, { namespace: this.ns, timeoutMs: 60_000, ...opts });
  }

  /** `ctr run` under a pseudo-terminal (script(1) gives ctr a tty). */
  ctrTty(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const cmd = ['ctr', '--address', this.address, '--namespace', this.ns, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return run('script', ['-qec', cmd, '/dev/null'], { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000, holdStdin: true });
  }

  berthdPid(): number {
    return this.proc.child!.pid!;
  }

  /** Pids of processes that belong to this namespace's containers, or monitors of our state dir. */
  ourPids(): string[] {
    const out: string[] = [];
    for (const e of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const cg = readFileSync(`/proc/${e}/cgroup`, 'utf8');
        const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
        const mine = cg.includes(`/berth/${this.ns}/`) || (readlinkSync(`/proc/${e}/exe`).endsWith('berth-helper') && this.helperIsOurs(Number(e)));
        if (mine) out.push(`${e} ${cmd}`);
      } catch {
        /* gone or a kernel thread */
      }
    }
    return out;
  }

  private helperIsOurs(pid: number): boolean {
    try {
      return (
        readdirSync(`/proc/${pid}/fd`).some((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(this.dirs.state);
          } catch {
            return false;
          }
        }) || readlinkSync(`/proc/${pid}/cwd`).startsWith(this.dirs.state)
      );
    } catch {
      return false;
    }
  }

  /** Everything a finished test must have released; polls briefly (monitors clean up as they exit). */
  async leaks(): Promise<Record<string, string[]>> {
    const check = async () => {
      const mounts = [...mountLines()].filter((m) => !this.mountsBefore.has(m) && !m.includes('berth-test') && m.includes(this.dirs.dir));
      const cgroups: string[] = [];
      for (const d of cgroupBaseDirs()) {
        const p = join(d, 'berth', this.ns);
        // A monitor removes its cgroup as it exits: a dir gone between readdir and stat is released, not leaked.
        if (existsSync(p)) for (const c of readdirSync(p)) if (statSync(join(p, c), { throwIfNoEntry: false })?.isDirectory()) cgroups.push(join(p, c));
      }
      const fds: string[] = [];
      const pid = this.berthdPid();
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          const l = readlinkSync(`/proc/${pid}/fd/${fd}`);
          if (l.includes('/fifo/') || l.startsWith('/run/containerd')) fds.push(l);
        } catch {
          /* closed meanwhile */
        }
      }
      const stateDirs = (await readdir(join(this.dirs.state, 'tasks', this.ns)).catch(() => [] as string[])).map((d) => join(this.ns, d));
      return { mounts, cgroups, processes: this.ourPids(), fds, stateDirs };
    };
    const deadline = Date.now() + slow(10_000);
    for (;;) {
      const l = await check();
      if (Object.values(l).every((v) => v.length === 0) || Date.now() > deadline) return l;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export const NO_LEAKS = { mounts: [], cgroups: [], processes: [], fds: [], stateDirs: [] };

/** Spawns a long-running ctr (e.g. `ctr events`) and collects its output. */
export function spawnCtr(address: string, ns: string, args: string[]) {
  const child = spawn('ctr', ['--address', address, '--namespace', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await done;
    },
  };
}
