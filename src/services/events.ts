import type { ServiceImpl } from '../transport';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventExchange } from '../events/exchange';
import { envelopeFromProto, envelopeToProto } from './convert/events';
import { required } from './convert/common';
import { requireNamespace } from './grpc/context';
import { serverStream, unary, writeMessage } from './grpc/handlers';
import type { Api } from './grpc/api-types';

export const EVENTS_SERVICE = 'containerd.services.events.v1.Events' as const;

type T = Api<typeof EVENTS_SERVICE>;

/** containerd.services.events.v1.Events: a thin adapter over the exchange. */
export function eventsService(log: Logger, exchange: EventExchange): ServiceImpl {
  return {
    Publish: unary(log, 'Events/Publish', async (req: T['Publish']['req'], ctx): Promise<T['Publish']['res']> => {
      const { topic, event } = req;
      requireNamespace(ctx);
      if (!event || !event.type_url) throw invalidArgument('publish: event is required');
      exchange.forward({ timestamp: new Date(), namespace: ctx.ns, topic, event });
      return {};
    }),
    Forward: unary(log, 'Events/Forward', async (req: T['Forward']['req']): Promise<T['Forward']['res']> => {
      // The exchange validates what the envelope holds (namespace, topic, timestamp, event).
      exchange.forward(envelopeFromProto(required(req.envelope, 'forward: envelope is required')));
      return {};
    }),
    // Events from every namespace unless filtered (as containerd: the header is not a filter).
    // The stream never ends by itself; the client's cancel aborts ctx.signal, which ends the
    // subscription and releases its queue.
    Subscribe: serverStream(log, 'Events/Subscribe', async (req: T['Subscribe']['req'], ctx, call) => {
      const sub = exchange.subscribe(req.filters, ctx.signal);
      try {
        for await (const env of sub) {
          await writeMessage(call, envelopeToProto(env));
          if (ctx.signal?.aborted) break;
        }
      } finally {
        sub.close();
      }
    }),
  };
}
