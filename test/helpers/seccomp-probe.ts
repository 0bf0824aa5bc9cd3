/**
 * The seccomp probe (seccomp-probe.c): built static with gcc into a dir a container bind-mounts
 * (busybox images have no libc), and its output read as a table of syscall -> result.
 */
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './ctr';

export const probeSupported = process.arch === 'x64';

/** Builds the probe into a fresh temp dir; returns the dir (the binary is `<dir>/seccomp-probe`). */
export async function buildProbe(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-scprobe-'));
  const r = await run('gcc', ['-static', '-O1', '-Wall', '-o', join(dir, 'seccomp-probe'), join(__dirname, 'seccomp-probe.c')], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`gcc: ${r.stderr}`);
  await chmod(dir, 0o755); // a container in a user namespace runs it as an unprivileged host uid
  return dir;
}

export interface ProbeResult {
  /** The `Seccomp:` field of /proc/self/status: 0 none, 2 filter. */
  seccomp: string;
  /** syscall -> `ok` or an errno name (or `signal<N>`). */
  results: Map<string, string>;
}

export function parseProbe(stdout: string): ProbeResult {
  const results = new Map<string, string>();
  let seccomp = '';
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [name, value] = line.trim().split(/\s+/);
    if (name === 'Seccomp') seccomp = value!;
    else results.set(name!, value!);
  }
  return { seccomp, results };
}

/** What the filter decided: refused (EPERM), not there (ENOSYS), or let through to the kernel. */
export const verdict = (result: string | undefined): 'EPERM' | 'ENOSYS' | 'allowed' | string =>
  result === 'EPERM' || result === 'ENOSYS' ? result : result === undefined || result.startsWith('signal') ? `missing(${result})` : 'allowed';
