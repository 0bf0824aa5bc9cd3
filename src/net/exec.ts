/**
 * Runs the host programs berth's networking is built from (the CNI plugins, iptables, ip,
 * unshare, umount) with a deadline, a bounded output and a clean environment. The only place in
 * net/ that starts processes.
 */
import { spawn } from 'node:child_process';
import { deadlineExceeded, failedPrecondition, internal } from '../core/errors';

export interface ToolOptions {
  /** The whole environment of the child (nothing of berthd's is inherited). */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** SIGKILL after this long (default 30 s). */
  timeoutMs?: number;
  /** Output beyond this many bytes per stream is dropped (default 1 MiB). */
  maxOutputBytes?: number;
}

export interface ToolRun {
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How a tool is run: runTool, or berthd's helper launcher (a child of a small C process, not of berthd). */
export type ToolRunner = (file: string, args: readonly string[], o?: ToolOptions) => Promise<ToolRun>;

/** PATH for the children: the plugins call iptables and friends by name. */
export const TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const MiB = 1 << 20;

/**
 * Runs `file args` and collects its output. A program that cannot be started is
 * FailedPrecondition (the host lacks it); one that outlives its deadline is killed and
 * DeadlineExceeded. A non-zero exit is the caller's to judge (ToolRun.code).
 */
export function runTool(file: string, args: readonly string[], o: ToolOptions = {}): Promise<ToolRun> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const max = o.maxOutputBytes ?? MiB;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: o.env ?? { PATH: TOOL_PATH }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      if (outBytes < max) out.push(b.subarray(0, max - outBytes));
      outBytes += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes < max) err.push(b.subarray(0, max - errBytes));
      errBytes += b.length;
    });
    // A child that exits without reading its stdin makes the write fail with EPIPE: its exit says what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.input ?? '');
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'EACCES') reject(failedPrecondition(`${file}: cannot run it (${e.code}): is it installed?`, { cause: e }));
      else reject(internal(`${file}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(deadlineExceeded(`${file} ${args.join(' ')}: no answer in ${timeoutMs} ms (killed)`));
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Runs a tool that must succeed; a failure is Internal with its stderr. */
export async function mustRun(file: string, args: readonly string[], o: ToolOptions = {}): Promise<string> {
  const r = await runTool(file, args, o);
  if (r.code !== 0) throw internal(`${file} ${args.join(' ')}: ${describeFailure(r)}`);
  return r.stdout;
}

export function describeFailure(r: ToolRun): string {
  const why = r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`;
  const text = (r.stderr.trim() || r.stdout.trim()).slice(0, 2000);
  return text ? `${why}: ${text}` : why;
}
