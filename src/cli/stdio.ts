/**
 * The terminal side of an attach, run or exec session: output to stdout/stderr (waiting for a
 * slow reader, so the session's flow control reaches berthd), stdin to the session (paused while
 * a write is in flight), a raw terminal for `-t` with the window size sent at once and on every
 * SIGWINCH, and, without a terminal, signals proxied to the container (`--sig-proxy`).
 */
import type { Session } from '../client';
import type { Cli } from './cli';

export interface PumpOptions {
  /** Send this terminal's stdin to the session. */
  stdin: boolean;
  /** The session has a tty: raw mode and resizes. */
  tty: boolean;
  /** Resizes the tty (Engine/Resize or the session's own resize). */
  resize?: (width: number, height: number) => Promise<unknown>;
  /** Proxies a received signal to the container (no tty only). */
  signal?: (name: NodeJS.Signals) => Promise<unknown>;
}

export interface PumpResult {
  exitCode?: number;
  detached: boolean;
  /** The session ended without an exit or a detach (berthd went away). */
  lost: boolean;
  error?: unknown;
}

const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export async function pumpSession(cli: Cli, s: Session, o: PumpOptions): Promise<PumpResult> {
  const cleanups: Array<() => void> = [];
  // process.stdin is made on first access (a stream, and fs's stream modules for a file): only
  // when the session takes stdin.
  const stdin = o.stdin ? process.stdin : undefined;
  if (o.tty && stdin?.isTTY) {
    stdin.setRawMode(true);
    cleanups.push(() => stdin.setRawMode(false));
  }
  if (o.tty && o.resize && process.stdout.isTTY) {
    const send = () => void o.resize!(process.stdout.columns, process.stdout.rows).catch(() => undefined);
    send();
    process.on('SIGWINCH', send);
    cleanups.push(() => process.off('SIGWINCH', send));
  }
  if (!o.tty && o.signal) {
    for (const sig of PROXIED) {
      const h = () => void o.signal!(sig).catch(() => undefined);
      process.on(sig, h);
      cleanups.push(() => process.off(sig, h));
    }
  }
  if (stdin) {
    const onData = (b: Buffer) => {
      stdin.pause();
      s.write(b).then(
        () => stdin.resume(),
        () => undefined,
      );
    };
    const onEnd = () => void s.closeStdin().catch(() => undefined);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    cleanups.push(() => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
    });
  }
  const r: PumpResult = { detached: false, lost: false };
  try {
    for await (const e of s) {
      if (e.kind === 'stdout') await cli.out(e.data);
      else if (e.kind === 'stderr') await cli.err(e.data);
      else if (e.kind === 'exit') r.exitCode = e.exitCode;
      else if (e.kind === 'detached') r.detached = true;
    }
  } catch (e) {
    r.error = e;
  } finally {
    for (const c of cleanups.reverse()) c();
  }
  r.lost = r.exitCode === undefined && !r.detached;
  return r;
}
