import type { ServerCall, ServiceImpl } from '../../transport';
import { packAny, type AnyValue } from '../../api';
import { invalidArgument } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { bidi } from '../grpc/handlers';
import { requests } from '../grpc/requests';
import { ServerStream, type StreamManager } from './manager';

export const STREAMING_SERVICE = 'containerd.services.streaming.v1.Streaming' as const;
const STREAM_INIT = 'containerd.services.streaming.v1.StreamInit';
const MAX_ID_BYTES = 256;

/**
 * containerd.services.streaming.v1.Streaming: the first message must be a StreamInit naming the
 * stream; the stream is registered under the call's namespace, acknowledged with an Any of
 * google.protobuf.Empty, and stays open until the transfer that takes it closes it, the client
 * goes away, or nobody takes it in time (manager.ts).
 */
export function streamingService(log: Logger, manager: StreamManager): ServiceImpl {
  return {
    Stream: bidi(log, 'Streaming/Stream', async (ctx, call: ServerCall<AnyValue, AnyValue>) => {
      const it = requests(call);
      const first = await it.next();
      if (first.done) return;
      const init = first.value;
      if (init.type_url.replace(/^.*\//, '') !== STREAM_INIT)
        throw invalidArgument(`Streaming/Stream: the first message must be ${STREAM_INIT}, got ${JSON.stringify(init.type_url.slice(0, 200))}`);
      const { StreamInit } = await import('../../api/gen/containerd/services/streaming/v1/streaming');
      const id = StreamInit.decode(init.value).id;
      if (!id) throw invalidArgument('StreamInit.id: required');
      if (Buffer.byteLength(id) > MAX_ID_BYTES) throw invalidArgument(`StreamInit.id: longer than ${MAX_ID_BYTES} bytes`);
      const stream = new ServerStream(id, call, () => it.next());
      manager.register(ctx.ns, stream);
      await stream.send(packAny('google.protobuf.Empty', {}));
      await stream.done;
    }),
  };
}
