/**
 * berthd's side of the launcher's `exec` (launcher_exec.c, PROTOCOL.md): a host tool run by a
 * child of the launcher instead of a child of berthd. The child's two connections arrive here:
 * `exec-io` is the tool's stdin and stdout, `exec-ctl` takes the request (argv and environment,
 * NUL-separated, after a u32le length) and brings back `pid N`, then `exit CODE SIGNAL ERRNO` and
 * the tool's stderr. The result is what net/exec.ts's runTool gives for a spawn.
 */
import { constants } from 'node:os';
import type { Socket } from 'node:net';
import { deadlineExceeded, failedPrecondition, internal } from '../../core/errors';
import { errnoName } from './errno';

export interface ExecOptions {
  /** The whole environment of the tool. */
  env?: Record<string, string>;
  /** Written to its stdin, which is then closed. */
  input?: string;
  /** SIGKILL after this long (default 30 s). */
  timeoutMs?: number;
  /** Output beyond this many bytes per stream is dropped (default 1 MiB). */
  maxOutputBytes?: number;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([n, v]) => [v, n as NodeJS.Signals]));
const MiB = 1 << 20;
/** launcher_exec.c's bounds: the request, and argv and environment entries each. */
const REQUEST_MAX = 64 * 1024;
const ENTRIES_MAX = 255;

/** The request frame: u32le length, argv strings, an empty one, environment strings, an empty one. */
export function execRequest(file: string, args: readonly string[], env: Record<string, string>): Buffer {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const parts = [file, ...args, '', ...vars, ''];
  if (parts.some((p, i) => p.includes('\0') || (p === '' && i !== args.length + 1 && i !== parts.length - 1)))
    throw internal(`${file}: arguments and environment must be non-empty and without NUL to go through the launcher`);
  if (args.length + 1 >= ENTRIES_MAX || vars.length >= ENTRIES_MAX) throw internal(`${file}: too many arguments or variables for the launcher`);
  const body = Buffer.from(parts.map((p) => `${p}\0`).join(''), 'utf8');
  if (body.length > REQUEST_MAX) throw internal(`${file}: request too large for the launcher (${body.length} bytes)`);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length, 0);
  return Buffer.concat([len, body]);
}

/**
 * Collects a stream's bytes up to `max` (the rest counted, not kept). `head`, while it answers
 * false, sees what has come so far after each chunk (for a first line; not the whole stream).
 */
function collect(s: Socket, max: number, head?: (soFar: Buffer) => boolean): () => Buffer {
  const out: Buffer[] = [];
  let n = 0;
  let watch = head;
  s.on('data', (b: Buffer) => {
    if (n < max) out.push(b.subarray(0, max - n));
    n += b.length;
    if (watch?.(Buffer.concat(out))) watch = undefined;
  });
  return () => Buffer.concat(out);
}

/** SIGKILL to a process, or a process group with a negative id. */
const kill = (pid: number) => {
  try {
    if (pid !== 0) process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
};

/** The answer on exec-ctl: `pid N`, `exit CODE SIGNAL ERRNO`, then the tool's stderr. */
function parseAnswer(file: string, text: Buffer): ExecResult {
  const nl1 = text.indexOf(10);
  const nl2 = nl1 < 0 ? -1 : text.indexOf(10, nl1 + 1);
  const m = nl2 < 0 ? null : /^exit (-?\d+) (\d+) (\d+)$/.exec(text.subarray(nl1 + 1, nl2).toString('latin1'));
  if (!m) throw internal(`${file}: the launcher's child gave no exit status`);
  const errno = Number(m[3]);
  if (errno) {
    const name = errnoName(errno);
    if (name === 'ENOENT' || name === 'EACCES') throw failedPrecondition(`${file}: cannot run it (${name}): is it installed?`);
    throw internal(`${file}: ${name}`);
  }
  const code = Number(m[1]);
  const sig = Number(m[2]);
  return { code: code >= 0 ? code : null, signal: sig ? (SIGNAL_NAMES.get(sig) ?? null) : null, stdout: '', stderr: text.subarray(nl2 + 1).toString('utf8') };
}

/**
 * Runs the request over the two connections; settles once the tool has exited and both are
 * closed. At the deadline the tool's process group is killed (or `helperPid`, the launcher's
 * child, when the tool has not started).
 */
export function runExec(io: Socket, ctl: Socket, helperPid: number, file: string, args: readonly string[], o: ExecOptions): Promise<ExecResult> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const max = o.maxOutputBytes ?? MiB;
  return new Promise<ExecResult>((resolve, reject) => {
    let request: Buffer;
    try {
      request = execRequest(file, args, o.env ?? {});
    } catch (e) {
      kill(helperPid);
      io.destroy();
      ctl.destroy();
      return reject(e);
    }
    let toolPid = 0;
    let timedOut = false;
    let open = 2;
    const stdout = collect(io, max);
    // Its first line, `pid N`, is all the deadline needs; past 32 bytes there is none to wait for.
    const answer = collect(ctl, max + 256, (soFar) => {
      const m = /^pid (\d+)\n/.exec(soFar.subarray(0, 32).toString('latin1'));
      if (m) toolPid = Number(m[1]);
      return m !== null || soFar.length >= 32;
    });
    // The tool's group (it and what it started); its parent then reaps it and exits. Before the
    // tool's pid is known, that parent itself.
    const timer = setTimeout(() => {
      timedOut = true;
      kill(toolPid ? -toolPid : helperPid);
      io.destroy();
      ctl.destroy();
    }, timeoutMs);
    const closed = () => {
      if (--open > 0) return;
      clearTimeout(timer);
      if (timedOut) return reject(deadlineExceeded(`${file} ${args.join(' ')}: no answer in ${timeoutMs} ms (killed)`));
      try {
        resolve({ ...parseAnswer(file, answer()), stdout: stdout().toString('utf8') });
      } catch (e) {
        reject(e);
      }
    };
    io.on('error', () => undefined);
    ctl.on('error', () => undefined);
    io.once('close', closed);
    ctl.once('close', closed);
    ctl.write(request);
    io.end(o.input ?? ''); // the tool reads EOF after it
    io.resume(); // paused after their header lines (launcher.ts)
    ctl.resume();
  });
}
