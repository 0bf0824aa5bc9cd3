import { packAny } from '../../api';
import type { Logger } from '../../core/logger';
import { progressStream, type ProgressFn } from '../../transfer';
import { progressToProto } from '../convert/transfer';
import type { AnyStream } from '../streaming/manager';

const PROGRESS = 'containerd.types.transfer.Progress';

/**
 * Progress to the client's progress stream, in order, with the stream's backpressure: while the
 * client reads slowly, a blob's byte counts coalesce to the latest (transfer/progress.ts), every
 * other event is kept. A client that stops reading or resets the stream loses its progress, not
 * the transfer. `finish` sends what is queued and ends the stream.
 */
export function progressSender(s: AnyStream, log: Logger): { fn: ProgressFn; finish(): Promise<void> } {
  const queue = progressStream();
  const pump = (async () => {
    for await (const p of queue) {
      if (s.ended) break;
      try {
        await s.send(packAny(PROGRESS, progressToProto(p)));
      } catch (e) {
        log.debug('progress stream: send failed, dropping the rest', { stream: s.id, err: e as Error });
        break;
      }
    }
  })();
  return {
    fn: queue.push,
    finish: async () => {
      queue.end();
      await pump;
      s.close();
    },
  };
}
