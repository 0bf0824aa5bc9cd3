/**
 * An attach or exec session as the engine hands it out: the monitor's attach connection
 * (tasks/helper/attach-client.ts) with Docker's client-side rules applied in berthd: detach keys
 * on stdin, stdin closed when the session ends for a `stdinOnce` container (or an exec), the exit
 * as a code. A session on a container not started yet gets its connection when it starts.
 */
import { failedPrecondition } from '../core/errors';
import type { AttachSession } from '../tasks';
import { DetachScanner } from './detach-keys';
import type { StreamEvent, StreamSession } from './types';

export interface SessionOptions {
  tty: boolean;
  /** The caller asked for stdin and the process has one. */
  stdin: boolean;
  detachKeys: Buffer;
  /** Close the process's stdin when this session's stdin ends or it detaches. */
  closeStdinAtEnd: boolean;
  /**
   * Settles once the engine has recorded the exit: the exit event waits for it (at most a few
   * seconds), so a caller that sees it finds the container stopped (an `rm` right after works).
   */
  recorded?: () => Promise<unknown>;
}

const RECORDED_WAIT_MS = 5000;

export class EngineSession implements StreamSession {
  private inner?: AttachSession;
  private readonly ready: Promise<AttachSession>;
  private connect!: { resolve: (s: AttachSession) => void; reject: (e: unknown) => void };
  private readonly scanner: DetachScanner;
  private detached = false;
  private closed = false;
  private stdinClosed = false;
  private wakeDetach?: () => void;

  constructor(
    private readonly opts: SessionOptions,
    inner?: AttachSession,
  ) {
    this.scanner = new DetachScanner(opts.detachKeys);
    this.ready = new Promise((resolve, reject) => (this.connect = { resolve, reject }));
    this.ready.catch(() => undefined);
    if (inner) this.bind(inner);
  }

  get tty(): boolean {
    return this.opts.tty;
  }
  get stdin(): boolean {
    return this.opts.stdin;
  }

  /** Connects a deferred session (the container has started). */
  bind(inner: AttachSession): void {
    if (this.closed) {
      inner.close();
      return;
    }
    this.inner = inner;
    this.connect.resolve(inner);
  }

  /** A deferred session whose container could not start. */
  fail(e: unknown): void {
    this.connect.reject(e);
  }

  async *events(): AsyncIterable<StreamEvent> {
    let inner: AttachSession;
    try {
      inner = await Promise.race([this.ready, new Promise<never>((_, reject) => (this.wakeDetach = () => reject(new DetachedError())))]);
    } catch (e) {
      if (e instanceof DetachedError || this.detached) return yield { kind: 'detached' };
      throw e;
    }
    const it = inner.events()[Symbol.asyncIterator]();
    const detachedP = new Promise<'detached'>((r) => (this.wakeDetach = () => r('detached')));
    if (this.detached) this.wakeDetach?.();
    for (;;) {
      const r = await Promise.race([it.next(), detachedP]);
      if (r === 'detached') {
        yield { kind: 'detached' };
        return;
      }
      if (r.done) return;
      const e = r.value;
      if (e.kind === 'exit') {
        if (this.opts.recorded) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([this.opts.recorded().catch(() => undefined), new Promise((res) => (timer = setTimeout(res, RECORDED_WAIT_MS)))]);
          clearTimeout(timer);
        }
        yield { kind: 'exit', exitCode: e.exit.exitStatus };
      } else yield e;
    }
  }

  async write(data: Buffer): Promise<void> {
    if (!this.opts.stdin) throw failedPrecondition('this session has no stdin');
    if (this.detached || this.closed) return;
    const { pass, detach } = this.scanner.feed(data);
    const inner = await this.ready;
    if (pass.length) await inner.write(pass);
    if (detach) await this.detach();
  }

  async closeStdin(): Promise<void> {
    if (!this.opts.stdin || !this.opts.closeStdinAtEnd || this.stdinClosed) return;
    this.stdinClosed = true;
    await (await this.ready).closeStdin();
  }

  async resize(width: number, height: number): Promise<void> {
    if (width > 0 && height > 0) await (await this.ready).resize(width, height);
  }

  private async detach(): Promise<void> {
    this.detached = true;
    await this.closeStdin().catch(() => undefined);
    this.wakeDetach?.();
    this.inner?.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.inner)
      void this.closeStdin()
        .catch(() => undefined)
        .finally(() => this.inner?.close());
    this.connect.reject(new DetachedError());
  }
}

class DetachedError extends Error {}
