import type { ServiceImpl } from '../../transport';
import type { Logger } from '../../core/logger';
import type { TransferService } from '../../transfer';
import type { Api } from '../grpc/api-types';
import { requireNamespace } from '../grpc/context';
import { unary } from '../grpc/handlers';
import type { StreamManager } from '../streaming/manager';
import { endpoint } from './endpoints';
import { operation, TransferSession } from './operations';
import { progressSender } from './progress';

export const TRANSFER_SERVICE = 'containerd.services.transfer.v1.Transfer' as const;
type T = Api<typeof TRANSFER_SERVICE>;

/**
 * containerd.services.transfer.v1.Transfer: a thin adapter over the TRANSFER part. The request's
 * source and destination pick the operation (operations.ts); the streams it names (progress,
 * auth, import/export data) are taken from the Streaming service's manager and closed when the
 * call ends, the progress stream only after every event queued was sent.
 */
export function transferService(log: Logger, transfer: TransferService, streams: StreamManager): ServiceImpl {
  return {
    Transfer: unary(log, 'Transfer/Transfer', async (req: T['Transfer']['req'], ctx): Promise<T['Transfer']['res']> => {
      const c = requireNamespace(ctx) as typeof ctx;
      const op = operation(endpoint(req.source, 'source'), endpoint(req.destination, 'destination'));
      const session = new TransferSession(streams, c, log);
      const progress = req.options?.progress_stream ? progressSender(session.take(req.options.progress_stream, 'progress'), log) : undefined;
      try {
        await op(c, transfer, session, progress?.fn);
      } finally {
        await progress?.finish();
        session.close();
      }
      return {};
    }),
  };
}
