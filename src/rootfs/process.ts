/**
 * One berth-rootfs process: its report lines (JSON on stderr) turned into a result or an error of
 * the taxonomy, its stdin fed from an iterable, its stdout collected or streamed.
 */
import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SupervisorError, canceled, conflict, errnoCode, failedPrecondition, internal, invalidArgument, notFound, permissionDenied } from '../core/errors';

export interface Line {
  type: 'done' | 'error' | 'warning';
  kind?: 'invalid' | 'internal' | 'usage' | 'notfound' | 'conflict' | 'readonly' | 'permission';
  errno?: number;
  msg?: string;
  [k: string]: unknown;
}

function toError(what: string, l: Line): Error {
  const msg = `${what}: ${l.msg ?? 'failed'}`;
  switch (l.kind) {
    case 'notfound':
      return notFound(msg);
    case 'conflict':
      return conflict(msg);
    case 'invalid':
      return invalidArgument(msg);
    case 'readonly':
      return failedPrecondition(`${msg} (read-only)`);
    case 'permission':
      return permissionDenied(msg);
    default:
      return internal(msg);
  }
}

export interface RunOptions {
  input?: AsyncIterable<Buffer>;
  signal?: AbortSignal;
  /** 'collect': stdout is gathered into the result; 'stream': handed out as it comes (archives). */
  stdout?: 'collect' | 'stream';
}

export interface Running {
  /** With stdout 'stream'. */
  stdout?: Readable;
  /** The done line, the warnings and (with 'collect') stdout; rejects with the child's error. */
  result: Promise<{ done: Line; warnings: string[]; output: Buffer }>;
  kill(): void;
}

const isPipeEnd = (e: unknown) => ['EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_PREMATURE_CLOSE'].includes(errnoCode(e) ?? '');

export function start(bin: string, what: string, args: string[], o: RunOptions = {}): Running {
  const child = spawn(bin, args, { stdio: [o.input ? 'pipe' : 'ignore', o.stdout ? 'pipe' : 'ignore', 'pipe'] });
  const kill = () => child.kill('SIGKILL');
  const lines: Line[] = [];
  const output: Buffer[] = [];
  if (o.stdout === 'collect') child.stdout!.on('data', (b: Buffer) => output.push(b));
  let buf = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Line);
      } catch {
        lines.push({ type: 'error', kind: 'internal', msg: `unparsable berth-rootfs output: ${line.slice(0, 200)}` });
      }
    }
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (e) => resolve({ code: null, signal: null, spawnError: e }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  o.signal?.addEventListener('abort', kill, { once: true });
  const result = (async () => {
    let feedError: unknown;
    if (o.input) {
      child.stdin!.on('error', () => undefined); // the child's own line says why it stopped reading
      try {
        await pipeline(Readable.from(o.input), child.stdin!);
      } catch (e) {
        if (!isPipeEnd(e)) {
          feedError = e;
          kill();
        }
      }
    }
    const exit = await closed;
    o.signal?.removeEventListener('abort', kill);
    if (o.signal?.aborted) throw canceled(`${what}: canceled`);
    if (feedError !== undefined)
      throw feedError instanceof SupervisorError ? feedError : invalidArgument(`${what}: reading the archive: ${(feedError as Error).message}`);
    if (exit.spawnError) throw internal(`${what}: cannot run berth-rootfs: ${exit.spawnError.message}`);
    const failure = lines.find((l) => l.type === 'error');
    if (failure) throw toError(what, failure);
    const done = lines.find((l) => l.type === 'done');
    if (!done || exit.code !== 0) throw internal(`${what}: berth-rootfs ${exit.signal ? `killed by ${exit.signal}` : `exited ${exit.code}`} without a result`);
    return { done, warnings: lines.filter((l) => l.type === 'warning').map((l) => l.msg ?? ''), output: Buffer.concat(output) };
  })();
  if (o.stdout !== 'stream') return { result, kill };
  // The stream ends only once the child's verdict is in: a failure after some bytes destroys it
  // with the error, so a consumer never takes a cut archive for a whole one.
  const stdout = new PassThrough();
  child.stdout!.pipe(stdout, { end: false });
  // 'close' (which result waited for) comes after the child's stdout ended: all of it is through.
  void result.then(
    () => stdout.end(),
    (e: Error) => stdout.destroy(e),
  );
  stdout.once('close', () => {
    if (!stdout.writableFinished) kill(); // the consumer stopped early
  });
  return { stdout, result, kill };
}

export async function run(bin: string, what: string, args: string[], o: RunOptions = {}): Promise<{ done: Line; warnings: string[]; output: Buffer }> {
  if (o.signal?.aborted) throw canceled(`${what}: canceled`);
  return start(bin, what, args, o).result;
}
