/**
 * An attach or exec session on the engine (Engine/Attach, Engine/Exec) as one object: what it
 * is (`ready`), its output as an async iterable ending with the exit code or a detach, and
 * stdin, resize and close-stdin. Detach keys are the server's business: stdin goes as it is.
 */
import type { DeepPartial } from '../api/descriptors';
import type { AttachInit, ExecInit, StreamInput, StreamOutput } from '../api/gen/berth/engine/v1/engine';
import { internal } from '../core/errors';
import type { DuplexCall } from './rpc';

export interface SessionReady {
  tty: boolean;
  /** The session's stdin reaches the process. */
  stdin: boolean;
  /** Set for an exec. */
  execId: string;
}

export type SessionOutput =
  | { kind: 'stdout' | 'stderr'; data: Buffer }
  /** Output this session lost because it read too slowly (the log has it). */
  | { kind: 'dropped'; bytes: number }
  | { kind: 'exit'; exitCode: number }
  | { kind: 'detached' };

export class Session implements AsyncIterable<SessionOutput> {
  private constructor(
    private readonly call: DuplexCall<StreamInput, StreamOutput>,
    private readonly it: AsyncIterator<StreamOutput>,
    readonly ready: SessionReady,
  ) {}

  /** Sends the first message and waits for the server's `ready` (or the call's error). */
  static async open(call: DuplexCall<StreamInput, StreamOutput>, init: { attach?: DeepPartial<AttachInit>; exec?: DeepPartial<ExecInit> }): Promise<Session> {
    const it = call[Symbol.asyncIterator]();
    try {
      await call.send(init);
      const first = await it.next();
      if (first.done) {
        await call.done;
        throw internal('the session ended before it was ready');
      }
      const r = first.value.ready;
      if (!r) throw internal('the server did not start the session with `ready`');
      return new Session(call, it, { tty: r.tty, stdin: r.stdin, execId: r.exec_id });
    } catch (e) {
      call.cancel();
      throw e;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SessionOutput> {
    try {
      for (;;) {
        const r = await this.it.next();
        if (r.done) return;
        const m = r.value;
        if (m.stdout !== undefined) yield { kind: 'stdout', data: Buffer.from(m.stdout) };
        else if (m.stderr !== undefined) yield { kind: 'stderr', data: Buffer.from(m.stderr) };
        else if (m.dropped !== undefined) yield { kind: 'dropped', bytes: Number(m.dropped) };
        else if (m.exit_code !== undefined) yield { kind: 'exit', exitCode: m.exit_code };
        else if (m.detached) yield { kind: 'detached' };
      }
    } finally {
      this.call.cancel();
    }
  }

  write(data: Buffer): Promise<void> {
    return this.call.send({ stdin: data });
  }

  resize(width: number, height: number): Promise<void> {
    return this.call.send({ resize: { width, height } });
  }

  /** The end of the caller's stdin: the process's stdin closes (an exec's, or a `stdin_once` container's). */
  closeStdin(): Promise<void> {
    return this.call.send({ close_stdin: true });
  }

  /** Ends the session from this side (the container goes on; an exec goes on too). */
  close(): void {
    this.call.cancel();
  }
}
