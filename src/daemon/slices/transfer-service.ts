import { ENGINE_SERVICE } from '../../services/engine';
import { engineRegistryService } from '../../services/engine-registry';
import { STREAMING_SERVICE, streamingService } from '../../services/streaming/service';
import { StreamManager } from '../../services/streaming/manager';
import { TRANSFER_SERVICE, transferService } from '../../services/transfer/service';
import type { Slice } from '../slice';
import { TRANSFER } from './transfer';

/**
 * containerd 2.x's Transfer and Streaming services over the TRANSFER part: pull, push, tag,
 * import and export, with progress, registry credentials and archive bytes on client streams;
 * and berth's Engine/ListTags, which reaches registries the same way (services/engine-registry.ts).
 */
export const transferServiceSlice: Slice = {
  name: 'transfer-service',
  requires: [TRANSFER],
  provides: [],
  plugins: () => [
    { type: 'io.containerd.streaming.v1', id: 'manager' },
    {
      type: 'io.containerd.transfer.v1',
      id: 'local',
      requires: ['io.containerd.content.v1', 'io.containerd.metadata.v1', 'io.containerd.snapshotter.v1', 'io.containerd.differ.v1'],
    },
    { type: 'io.containerd.grpc.v1', id: 'streaming', requires: ['io.containerd.streaming.v1'] },
    { type: 'io.containerd.grpc.v1', id: 'transfer', requires: ['io.containerd.transfer.v1', 'io.containerd.streaming.v1'] },
  ],
  wire(ctx) {
    const log = ctx.log.child({ component: 'transfer' });
    const streams = new StreamManager();
    ctx.services.add(STREAMING_SERVICE, streamingService(log, streams));
    ctx.services.add(TRANSFER_SERVICE, transferService(log, ctx.need(TRANSFER), streams));
    ctx.services.add(ENGINE_SERVICE, engineRegistryService(ctx.need(TRANSFER), streams, ctx.log.child({ service: 'engine' })));
    ctx.onShutdown(() => streams.closeAll('berthd is shutting down'));
  },
};
