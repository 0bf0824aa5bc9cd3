import { packAny, service, type AnyValue } from '../../api';
import { canceled } from '../../core/errors';
import { type Transport, unaryCall } from '../rpc';
import { readProgress, type Progress } from './progress';
import { openStream, streamId, type AnyStream } from './streams';

/** A stream an operation opens besides progress (auth, archive bytes) and what it does on it. */
export interface SideStream {
  prefix: string;
  use(s: AnyStream): Promise<void>;
  /** Its failure does not cancel the rest (a progress reader). */
  passive?: boolean;
}

export interface TransferPlan {
  side?: SideStream[];
  /** Source and destination, given the ids the side streams got (in order). */
  endpoints(ids: string[]): { source: AnyValue; destination: AnyValue };
  signal?: AbortSignal;
  onProgress(p: Progress): void;
}

/**
 * One Transfer call with its streams: the progress stream (always: results are read from its
 * `saved` events) and the side streams, as withStreams() opens them.
 */
export async function runTransfer(t: Transport, plan: TransferPlan): Promise<void> {
  const progress: SideStream = { prefix: 'progress', passive: true, use: (s) => readProgress(s, plan.onProgress) };
  await withStreams(t, 'transfer', [progress, ...(plan.side ?? [])], plan.signal, async ([progressId, ...ids]) => {
    const transfer = service('containerd.services.transfer.v1.Transfer').methods.Transfer;
    await unaryCall(t, transfer, { ...plan.endpoints(ids), options: { progress_stream: progressId } }, { signal: plan.signal });
  });
}

/**
 * Runs `call` with Streaming streams beside it (progress, auth, archive bytes): each opened and
 * acknowledged before the call, as containerd's client does, and waited for after it. The call
 * and every stream are cancelled on abort or when anything fails; the first failure wins, except
 * that an active side stream's own error (the archive input, the credentials callback) beats the
 * Canceled it causes. A passive stream's failure (progress) only shows once the call is done.
 */
export async function withStreams<R>(
  t: Transport,
  what: string,
  streams: readonly SideStream[],
  signal: AbortSignal | undefined,
  call: (ids: string[]) => Promise<R>,
): Promise<R> {
  const opened: AnyStream[] = [];
  const cancelAll = () => opened.forEach((s) => s.cancel());
  let sideFailure: unknown;
  if (signal?.aborted) throw canceled(`${what}: cancelled`);
  signal?.addEventListener('abort', cancelAll, { once: true });
  try {
    const ids: string[] = [];
    const active: Array<Promise<void>> = [];
    const passive: Array<Promise<void>> = [];
    for (const side of streams) {
      const id = streamId(side.prefix);
      const s = await openStream(t, id);
      opened.push(s);
      ids.push(id);
      const task = side.passive
        ? side.use(s)
        : side.use(s).catch((e) => {
            sideFailure ??= e;
            cancelAll();
            throw e;
          });
      task.catch(() => undefined);
      (side.passive ? passive : active).push(task);
    }
    const r = await call(ids);
    await Promise.all(active);
    for (const p of passive) await p;
    return r;
  } catch (e) {
    cancelAll();
    if (signal?.aborted) throw canceled(`${what}: cancelled`, { cause: e });
    throw sideFailure ?? e;
  } finally {
    signal?.removeEventListener('abort', cancelAll);
    for (const s of opened) if (!s.closed) s.cancel();
  }
}

/** Packs a containerd.types.transfer message as an Any. */
export function transferAny(type: 'OCIRegistry' | 'ImageStore' | 'ImageImportStream' | 'ImageExportStream', msg: object): AnyValue {
  return packAny(`containerd.types.transfer.${type}`, msg);
}
