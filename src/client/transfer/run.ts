import { packAny, service, type AnyValue } from '../../api';
import { canceled } from '../../core/errors';
import { type Transport, unaryCall } from '../rpc';
import { readProgress, type Progress } from './progress';
import { openStream, streamId, type AnyStream } from './streams';

/** A stream an operation opens besides progress (auth, archive bytes) and what it does on it. */
export interface SideStream {
  prefix: string;
  use(s: AnyStream): Promise<void>;
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
 * `saved` events) and the side streams, each acknowledged before Transfer is called, as
 * containerd's client does. The call and every stream are cancelled on abort or when anything
 * fails; the first failure wins, except that a side stream's own error (the archive input, the
 * credentials callback) beats the Canceled it causes.
 */
export async function runTransfer(t: Transport, plan: TransferPlan): Promise<void> {
  const opened: AnyStream[] = [];
  const cancelAll = () => opened.forEach((s) => s.cancel());
  let sideFailure: unknown;
  if (plan.signal?.aborted) throw canceled('transfer: cancelled');
  plan.signal?.addEventListener('abort', cancelAll, { once: true });
  try {
    const progressId = streamId('progress');
    const progress = await openStream(t, progressId);
    opened.push(progress);
    const progressDone = readProgress(progress, plan.onProgress);
    progressDone.catch(() => undefined);
    const ids: string[] = [];
    const sideTasks: Array<Promise<void>> = [];
    for (const side of plan.side ?? []) {
      const id = streamId(side.prefix);
      const s = await openStream(t, id);
      opened.push(s);
      ids.push(id);
      const task = side.use(s).catch((e) => {
        sideFailure ??= e;
        cancelAll();
        throw e;
      });
      task.catch(() => undefined);
      sideTasks.push(task);
    }
    const transfer = service('containerd.services.transfer.v1.Transfer').methods.Transfer;
    await unaryCall(t, transfer, { ...plan.endpoints(ids), options: { progress_stream: progressId } }, { signal: plan.signal });
    await Promise.all(sideTasks);
    await progressDone;
  } catch (e) {
    cancelAll();
    if (plan.signal?.aborted) throw canceled('transfer: cancelled', { cause: e });
    throw sideFailure ?? e;
  } finally {
    plan.signal?.removeEventListener('abort', cancelAll);
    for (const s of opened) if (!s.closed) s.cancel();
  }
}

/** Packs a containerd.types.transfer message as an Any. */
export function transferAny(type: 'OCIRegistry' | 'ImageStore' | 'ImageImportStream' | 'ImageExportStream', msg: object): AnyValue {
  return packAny(`containerd.types.transfer.${type}`, msg);
}
