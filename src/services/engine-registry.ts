/**
 * berth.engine.v1.Engine's registry call: ListTags (`docker pull --all-tags`). It is served by
 * the transfer-service slice, beside the Transfer service, because it reaches registries as a
 * Transfer pull does: the TRANSFER part's registry clients (berthd's hosts configuration and
 * Docker config) and the caller's credentials over a Streaming auth stream.
 */
import type { ServiceImpl } from '../transport';
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { TransferService } from '../transfer';
import type { ENGINE_SERVICE } from './engine';
import type { Api } from './grpc/api-types';
import { requireNamespace } from './grpc/context';
import { unary } from './grpc/handlers';
import type { StreamManager } from './streaming/manager';
import { registryResolver, TransferSession } from './transfer/operations';

type T = Api<typeof ENGINE_SERVICE>;

export function engineRegistryService(transfer: TransferService, streams: StreamManager, log: Logger): ServiceImpl {
  return {
    ListTags: unary(log, 'Engine/ListTags', async (req: T['ListTags']['req'], ctx: Ctx): Promise<T['ListTags']['res']> => {
      if (!req.repository) throw invalidArgument('Engine/ListTags: repository must be set');
      let session: TransferSession | undefined;
      try {
        // Streams live in a namespace: only a call that names one needs the header.
        const registry = registryResolver(req.resolver, req.repository, () => (session = new TransferSession(streams, requireNamespace(ctx), log)));
        return await transfer.listTags(ctx, { repository: req.repository, ...registry, ...(req.page_size ? { pageSize: req.page_size } : {}) });
      } finally {
        session?.close();
      }
    }),
  };
}
