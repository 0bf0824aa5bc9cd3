/**
 * Typed calls on berth's client channel (H2Channel): a unary call and a bidirectional stream,
 * each with the namespace header, cancellation by AbortSignal (RST_STREAM CANCEL) and a non-OK
 * status mapped back to berth's error kinds (core/status-codes.ts).
 */
import type { MethodDescriptor } from '../api';
import { canceled } from '../core/errors';
import { errorFromStatus } from '../core/status-codes';
import type { ClientStream, H2Channel } from '../transport';

export const NAMESPACE_HEADER = 'containerd-namespace';

function abortError(signal: AbortSignal, what: string): Error {
  const r: unknown = signal.reason;
  return canceled(`${what}: ${r instanceof Error && r.name !== 'AbortError' ? r.message : 'cancelled'}`);
}

/** One unary call; rejects with a SupervisorError of the status's kind. */
export async function unaryCall<Req, Res>(ch: H2Channel, m: MethodDescriptor<Req, Res>, req: Req, namespace: string, signal?: AbortSignal): Promise<Res> {
  const what = m.path.slice(1);
  if (signal?.aborted) throw abortError(signal, what);
  const s = await ch.call(m.path, namespace ? { [NAMESPACE_HEADER]: namespace } : {});
  let res: Res | undefined;
  s.onMessage = (b) => (res = m.decodeResponse(b));
  const onAbort = () => s.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await s.write(m.encodeRequest(req));
    await s.end();
    const st = await s.status;
    if (signal?.aborted) throw abortError(signal, what);
    if (st.code !== 0) throw errorFromStatus(st);
    if (res === undefined) throw errorFromStatus({ code: 13, details: 'the server sent no response message' }, what);
    return res;
  } catch (e) {
    if (signal?.aborted) throw abortError(signal, what);
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * A bidirectional stream: `send` one message at a time (with the channel's flow control),
 * `recv` the next reply (undefined at the end of the server's stream), `end` our side,
 * `cancel` the call. `status` settles with the call: it rejects with the mapped error on a
 * non-OK status (or on cancellation, Canceled).
 */
export class BidiCall<Req, Res> {
  private readonly queue: Res[] = [];
  private waiting: (() => void) | undefined;
  private finished = false;
  readonly status: Promise<void>;

  private constructor(
    private readonly s: ClientStream,
    private readonly m: MethodDescriptor<Req, Res>,
  ) {
    s.onMessage = (b) => {
      this.queue.push(m.decodeResponse(b));
      this.poke();
    };
    this.status = s.status.then((st) => {
      this.finished = true;
      this.poke();
      if (st.code !== 0) throw errorFromStatus(st);
    });
    this.status.catch(() => undefined); // read through recv() or by whoever awaits it
  }

  static async open<Req, Res>(ch: H2Channel, m: MethodDescriptor<Req, Res>, namespace: string): Promise<BidiCall<Req, Res>> {
    return new BidiCall(await ch.call(m.path, namespace ? { [NAMESPACE_HEADER]: namespace } : {}), m);
  }

  private poke(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  get closed(): boolean {
    return this.finished;
  }

  send(msg: Req): Promise<void> {
    return this.s.write(this.m.encodeRequest(msg));
  }

  end(): Promise<void> {
    return this.s.end();
  }

  cancel(): void {
    this.s.cancel();
  }

  /** The next message; undefined once the server ended the call with OK; rejects on an error status. */
  async recv(): Promise<Res | undefined> {
    for (;;) {
      if (this.queue.length) return this.queue.shift()!;
      if (this.finished) {
        await this.status;
        return undefined;
      }
      await new Promise<void>((r) => (this.waiting = r));
    }
  }
}
