import { spawn } from 'node:child_process';
import { slow } from './slow';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, with optional stdin and a kill-after timeout (never hangs a test). */
/**
 * Runs `cmd` and collects its output. stdin gets `input` and then EOF, or EOF at once; with
 * `holdStdin` and no input it stays open until the process exits (script(1) reacts to EOF on its
 * stdin by writing an EOF character into the terminal, which then races with the command's own
 * terminal set-up: a stray `^@` was once seen in a tty test's output).
 */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; holdStdin?: boolean } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), slow(opts.timeoutMs ?? 30000));
    child.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
    child.on('exit', () => child.stdin.destroy());
    child.stdin.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else if (!opts.holdStdin) child.stdin.end();
  });
}

/** The real ctr (Debian's containerd package) against a berthd socket. */
export function ctr(address: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; namespace?: string } = {}): Promise<RunResult> {
  const ns = opts.namespace ? ['--namespace', opts.namespace] : [];
  return run('ctr', ['--address', address, ...ns, ...args], opts);
}

/**
 * ctr's stderr of a pull without ctr's own race: its progress loop calls Content/Info and
 * Content/ListStatuses with a context it cancels as soon as the pull is done, and a call in flight
 * at that moment logs one of these lines (nothing to do with the daemon). Any other line is kept.
 */
export function ctrPullNoise(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l && !/level=error msg="(failed to get content info|active check failed)" error="context canceled"/.test(l))
    .join('\n');
}
