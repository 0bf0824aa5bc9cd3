/**
 * Engine/Attach and Engine/Exec: a bidirectional call around one engine session. The first
 * client message says what to attach to (AttachInit or ExecInit); the server answers `ready`,
 * then output frames, and last the exit code or `detached`. stdin, resize and close_stdin go to
 * the session in order; a cancelled call closes it.
 *
 * Flow control both ways: while a stdin write waits for the monitor the call stops reading (so
 * HTTP/2 flow control holds the client), and while the client does not take output the session
 * is not read (the monitor then stalls this attacher at most 500 ms and drops output for it
 * alone: a `dropped` frame says how much; the log has everything).
 */
import type { ServerCall } from '../transport';
import type { Ctx } from '../core/context';
import { canceled, invalidArgument } from '../core/errors';
import type { StreamSession } from '../engine';
import type { ExecSession } from '../engine';
import type { StreamInput, StreamOutput } from '../api/gen/berth/engine/v1/engine';
import { streamEventToProto } from './convert/engine';
import { writeMessage } from './grpc/handlers';

type Call = ServerCall<StreamInput, StreamOutput>;

/** The first message, or undefined when the client ended or cancelled before sending one. */
function firstMessage(call: Call): Promise<StreamInput | undefined> {
  return new Promise((resolve) => {
    const done = (m?: StreamInput) => {
      call.off('data', onData);
      call.off('end', onEnd);
      call.off('cancelled', onEnd);
      call.pause();
      resolve(m);
    };
    const onData = (m: StreamInput) => done(m);
    const onEnd = () => done(undefined);
    call.on('data', onData);
    call.on('end', onEnd);
    call.on('cancelled', onEnd);
  });
}

/**
 * Runs one session call. `open` turns the first message into a session (it throws
 * InvalidArgument for the wrong kind of message); the call ends after the session's last event.
 */
export async function serveSession(ctx: Ctx, call: Call, method: string, open: (first: StreamInput) => Promise<StreamSession>): Promise<void> {
  const first = await firstMessage(call);
  if (!first) {
    if (call.cancelled) throw canceled(`${method}: cancelled before the first message`);
    throw invalidArgument(`${method}: the call ended before its first message`);
  }
  const session = await open(first);
  let inputError: unknown;
  let stop!: () => void;
  const stopped = new Promise<'stop'>((r) => (stop = () => r('stop')));
  const onCancel = () => {
    session.close();
    stop();
  };
  call.on('cancelled', onCancel);
  // Inputs are applied one at a time, in order; the call is paused while one is in progress.
  let chain = Promise.resolve();
  const apply = async (m: StreamInput) => {
    if (m.stdin !== undefined) await session.write(Buffer.from(m.stdin));
    else if (m.resize !== undefined) await session.resize(m.resize.width, m.resize.height);
    else if (m.close_stdin) await session.closeStdin();
    else if (m.attach || m.exec) throw invalidArgument(`${method}: only the first message may be an AttachInit or ExecInit`);
  };
  const onData = (m: StreamInput) => {
    call.pause();
    chain = chain
      .then(() => apply(m))
      .then(
        () => void call.resume(),
        (e) => {
          inputError ??= e;
          session.close();
          stop();
        },
      );
  };
  try {
    const exec = (session as Partial<ExecSession>).execId;
    await writeMessage(call, { ready: { tty: session.tty, stdin: session.stdin, exec_id: exec ?? '' } });
    call.on('data', onData);
    call.resume();
    const it = session.events()[Symbol.asyncIterator]();
    for (;;) {
      const r = await Promise.race([it.next(), stopped]);
      if (r === 'stop') {
        void it.return?.();
        break;
      }
      if (r.done) break;
      await writeMessage(call, streamEventToProto(r.value));
      if (call.cancelled) break;
    }
  } finally {
    call.off('data', onData);
    call.off('cancelled', onCancel);
    session.close();
  }
  if (inputError) throw inputError;
}
