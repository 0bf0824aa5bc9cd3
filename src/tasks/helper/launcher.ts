/**
 * berthd's side of `berth-helper --launcher SOCKET` (native/helper/launcher.c, PROTOCOL.md).
 * Spawning a helper from Node forks the whole daemon (~100 MB of page tables to copy and
 * write-protect) and blocks the event loop until the child has exec'd: 2-5 ms per container on
 * this machine, on Tasks/Create's critical path. The launcher is a small resident berth-helper
 * that forks instead. Each launch: berthd writes a random token to the launcher; the forked helper
 * connects twice to berthd's socket, presenting `<token> plan <pid>` and `<token> sync <pid>`, and
 * those two connections are its fd 3 and fd 4, exactly as with a spawn. It also makes network
 * namespaces (netns()) and runs host tools (exec(), launcher-exec.ts) in forked children, which
 * answer on connections of their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, isAbsolute } from 'node:path';
import { internal, unavailable } from '../../core/errors';
import { errnoName, errnoToError } from './errno';
import { runExec, type ExecOptions, type ExecResult } from './launcher-exec';
import type { Logger } from '../../core/logger';

/** A helper the launcher started: its plan and sync connections, not yet read from. */
export interface LaunchedHelper {
  plan: Socket;
  sync: Socket;
  pid: number;
}

interface PendingExec {
  io?: Socket;
  ctl?: Socket;
  pid?: number;
  run(io: Socket, ctl: Socket, pid: number): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

interface Pending {
  plan?: Socket;
  sync?: Socket;
  pid?: number;
  resolve(h: LaunchedHelper): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

const HEADER = /^([0-9a-f]{32}) (plan|sync|netns|exec-io|exec-ctl) (\d+)$/;
const HEADER_MAX = 128;
const LAUNCH_TIMEOUT_MS = 10_000;
/** sun_path is 108 bytes with its NUL. */
export const MAX_LAUNCHER_SOCKET = 107;

/** Reads the one header line a helper sends first; leaves the socket paused after it. */
function readHeader(sock: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (buf.length > HEADER_MAX) done(new Error('header too long'));
        return;
      }
      done(undefined, buf.subarray(0, nl).toString('latin1'), buf.subarray(nl + 1));
    };
    const onEnd = () => done(new Error('closed before its header'));
    const done = (e?: Error, line?: string, rest?: Buffer) => {
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('error', onEnd);
      sock.pause();
      if (rest && rest.length > 0) sock.unshift(rest);
      if (e) reject(e);
      else resolve(line!);
    };
    sock.on('data', onData);
    sock.on('end', onEnd);
    sock.on('error', onEnd);
  });
}

/** Gives up on a helper that was launched but will not be used: it reads EOF and exits. */
export function discardLaunched(l: Promise<LaunchedHelper>): void {
  l.then(
    (h) => {
      h.plan.destroy();
      h.sync.destroy();
    },
    () => undefined,
  );
}

/** Takes a pending request out of its map and stops its timer; undefined when it was settled already. */
function take<P extends { timer: NodeJS.Timeout }>(map: Map<string, P>, token: string): P | undefined {
  const p = map.get(token);
  if (!p) return undefined;
  map.delete(token);
  clearTimeout(p.timer);
  return p;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export interface LauncherOptions {
  /**
   * Keep one helper forked and connected ahead of need: a launch takes it and asks for the next
   * one. The launcher's fork and the two connections (1-3 ms, more on a busy machine) then happen
   * between containers instead of on Tasks/Create's path. The spare waits for its plan, holding
   * nothing but its two connections; it exits when they close (close(), or berthd's death).
   */
  spare?: boolean;
}

export class Launcher {
  private server?: Server;
  private starting?: Promise<void>;
  private child?: ChildProcess;
  private readonly pending = new Map<string, Pending>();
  private readonly execPending = new Map<string, PendingExec>();
  private readonly netnsPending = new Map<string, { what: string; failed: string; resolve(): void; reject(e: unknown): void; timer: NodeJS.Timeout }>();
  private closed = false;
  private spare?: Promise<LaunchedHelper>;

  constructor(
    readonly socketPath: string,
    private readonly helperPath: string,
    private readonly log: Logger,
    private readonly opts: LauncherOptions = {},
  ) {}

  /** Starts the launcher now rather than at the first launch. */
  ready(): Promise<void> {
    return this.start();
  }

  /** Starts one helper (or hands over the spare); resolves once both of its connections have arrived. */
  async launch(what: string): Promise<LaunchedHelper> {
    if (this.closed) throw unavailable(`${what}: berthd is shutting down`);
    const spare = this.spare;
    this.spare = undefined;
    const mine = spare ? undefined : this.fork(what); // asked first, so forked first
    if (this.opts.spare) {
      this.spare = this.fork('spare helper');
      this.spare.catch(() => undefined); // a failed spare is only replaced by a fresh launch
    }
    if (!spare) return mine!;
    const h = await spare.catch(() => undefined);
    if (h && alive(h.pid)) return h;
    if (h) discardLaunched(spare); // killed while waiting: its connections are useless
    return this.fork(what);
  }

  /** The launcher's request channel, once it runs and berthd listens for its children. */
  private async channel(what: string): Promise<Socket> {
    if (this.closed) throw unavailable(`${what}: berthd is shutting down`);
    if (this.server && !existsSync(this.socketPath)) {
      // Someone removed our socket file (a state dir cleanup): listen again on the same path.
      this.server.close();
      this.server = undefined;
      this.starting = undefined;
    }
    await this.start();
    const child = this.child;
    if (!child) throw internal(`${what}: the helper launcher is not running`);
    return child.stdio[3] as Socket;
  }

  private async fork(what: string): Promise<LaunchedHelper> {
    const channel = await this.channel(what);
    const token = randomBytes(16).toString('hex');
    return new Promise<LaunchedHelper>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(token, internal(`${what}: the launcher started no helper within ${LAUNCH_TIMEOUT_MS} ms`)), LAUNCH_TIMEOUT_MS);
      this.pending.set(token, { resolve, reject, timer });
      channel.write(`${token}\n`);
    });
  }

  /**
   * A new network namespace with `lo` up, bind-mounted on `path` (an existing empty file in a
   * directory named `netns`), made by a child of the launcher: no fork of berthd, no exec.
   */
  netns(path: string): Promise<void> {
    return this.netnsRequest('netns', path, 'the launcher could not make it');
  }

  /** Unmounts the namespace pinned on `path` (as netns() takes it), in a child of the launcher: no `umount` process. */
  unmountNetns(path: string): Promise<void> {
    return this.netnsRequest('netns-rm', path, 'the launcher could not unmount it');
  }

  private async netnsRequest(verb: 'netns' | 'netns-rm', path: string, failed: string): Promise<void> {
    const what = `network namespace ${path}`;
    if (!isAbsolute(path) || /[\n ]/.test(path) || basename(dirname(path)) !== 'netns') throw internal(`${what}: not a path the launcher takes`);
    const channel = await this.channel(what);
    const token = randomBytes(16).toString('hex');
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.failNetns(token, internal(`${what}: no answer from the launcher within ${LAUNCH_TIMEOUT_MS} ms`)), LAUNCH_TIMEOUT_MS);
      this.netnsPending.set(token, { what, failed, resolve, reject, timer });
      channel.write(`${verb} ${token} ${path}\n`);
    });
  }

  /**
   * Runs a host tool (`file`: a path, or a name looked up in `o.env.PATH`) in a child of the
   * launcher, with runTool's result (net/exec.ts): stdin from `o.input`, stdout and stderr
   * collected, killed at the deadline. berthd does not fork itself for it.
   */
  async exec(file: string, args: readonly string[], o: ExecOptions = {}): Promise<ExecResult> {
    const channel = await this.channel(file);
    const token = randomBytes(16).toString('hex');
    return new Promise<ExecResult>((resolve, reject) => {
      const timer = setTimeout(
        () => this.failExec(token, internal(`${file}: the launcher started no child within ${LAUNCH_TIMEOUT_MS} ms`)),
        LAUNCH_TIMEOUT_MS,
      );
      this.execPending.set(token, {
        run: (io, ctl, pid) => runExec(io, ctl, pid, file, args, o).then(resolve, reject),
        reject,
        timer,
      });
      channel.write(`exec ${token}\n`);
    });
  }

  private failExec(token: string, e: unknown): void {
    const p = take(this.execPending, token);
    if (!p) return;
    p.io?.destroy();
    p.ctl?.destroy();
    p.reject(e);
  }

  private execConnection(token: string, role: 'exec-io' | 'exec-ctl', pid: number, sock: Socket): void {
    const p = this.execPending.get(token);
    const key = role === 'exec-io' ? 'io' : 'ctl';
    if (!p || p[key]) return void sock.destroy();
    p[key] = sock;
    p.pid = pid;
    if (!p.io || !p.ctl) return;
    take(this.execPending, token);
    p.run(p.io, p.ctl, pid);
  }

  private failNetns(token: string, e: unknown): void {
    take(this.netnsPending, token)?.reject(e);
  }

  /**
   * Hands the tree `dir` (directly inside a `trash` or `.trash` dir) to the launcher, which deletes
   * it in a forked child: no work on berthd's event loop. False when no launcher runs (the caller
   * deletes it itself); whatever a lost request leaves stays in the trash, emptied at the next start.
   */
  removeTree(dir: string): boolean {
    const channel = this.child?.stdio[3] as Socket | undefined;
    if (this.closed || !channel || !isAbsolute(dir) || dir.includes('\n') || !/^\.?trash$/.test(basename(dirname(dir)))) return false;
    channel.write(`rm ${dir}\n`);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.spare) discardLaunched(this.spare);
    this.spare = undefined;
    this.failAll(unavailable('berthd is shutting down'));
    this.child?.kill('SIGKILL');
    this.server?.close();
    rmSync(this.socketPath, { force: true });
  }

  /** Every request waiting for the launcher's children. */
  private failAll(e: unknown): void {
    for (const token of [...this.pending.keys()]) this.fail(token, e);
    for (const token of [...this.netnsPending.keys()]) this.failNetns(token, e);
    for (const token of [...this.execPending.keys()]) this.failExec(token, e);
  }

  private fail(token: string, e: unknown): void {
    const p = take(this.pending, token);
    if (!p) return;
    p.plan?.destroy();
    p.sync?.destroy();
    p.reject(e);
  }

  private start(): Promise<void> {
    if (this.starting) return this.starting;
    this.starting = this.listen()
      .then(() => (this.child ? undefined : this.spawnLauncher()))
      .catch((e) => {
        this.starting = undefined;
        throw internal(`helper launcher: ${(e as Error).message}`, { cause: e });
      });
    return this.starting;
  }

  private async listen(): Promise<void> {
    if (this.server) return;
    mkdirSync(dirname(this.socketPath), { recursive: true, mode: 0o700 });
    rmSync(this.socketPath, { force: true }); // left by a berthd that was killed
    const server = createServer((sock) => this.onConnection(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.socketPath, 0o600);
    server.on('error', (e) => this.log.warn('helper launcher socket failed', { err: e }));
    server.unref();
    this.server = server;
  }

  private spawnLauncher(): Promise<void> {
    const child = spawn(this.helperPath, ['--launcher', this.socketPath], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const channel = child.stdio[3] as Socket;
    channel.on('error', () => undefined);
    channel.unref();
    child.unref();
    child.once('exit', (code, signal) => {
      if (this.child === child) {
        this.child = undefined;
        this.starting = undefined; // the next launch starts a new one
      }
      this.failAll(internal(`helper launcher exited (${signal ?? code})`));
      if (!this.closed) this.log.warn('helper launcher exited', { code, signal });
    });
    this.child = child;
    return new Promise((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  }

  private onConnection(sock: Socket): void {
    sock.on('error', () => undefined);
    readHeader(sock).then(
      (line) => {
        const m = HEADER.exec(line);
        if (m?.[2] === 'netns') return void (sock.destroy(), this.netnsAnswer(m[1]!, Number(m[3])));
        if (m?.[2] === 'exec-io' || m?.[2] === 'exec-ctl') return this.execConnection(m[1]!, m[2], Number(m[3]), sock);
        const p = m && this.pending.get(m[1]!);
        if (!m || !p || p[m[2] as 'plan' | 'sync']) return void sock.destroy();
        p[m[2] as 'plan' | 'sync'] = sock;
        p.pid = Number(m[3]);
        if (!p.plan || !p.sync) return;
        take(this.pending, m[1]!);
        p.resolve({ plan: p.plan, sync: p.sync, pid: p.pid });
      },
      () => sock.destroy(),
    );
  }

  private netnsAnswer(token: string, errno: number): void {
    const p = take(this.netnsPending, token);
    if (!p) return;
    if (errno === 0) p.resolve();
    else p.reject(errnoToError(errno, p.what, `${p.failed}: ${errnoName(errno)}`));
  }
}
