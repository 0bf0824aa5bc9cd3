import type { ServiceImpl } from '../transport/grpc/server';
import { z } from 'zod';
import { invalidArgument } from '../core/errors';
import type { Logger } from '../core/logger';
import type { EventExchange } from '../events/exchange';
import { envelopeFromProto, envelopeToProto, type EnvelopeProto } from './convert/events';
import { requireNamespace } from './grpc/context';
import { serverStream, unary, writeMessage } from './grpc/handlers';
import { parseRequest as parse } from './grpc/parse';

export const EVENTS_SERVICE = 'containerd.services.events.v1.Events';

const AnySchema = z.object({ type_url: z.string(), value: z.instanceof(Uint8Array) });
const PublishRequestSchema = z.object({ topic: z.string(), event: AnySchema.nullish() });
const SubscribeRequestSchema = z.object({ filters: z.array(z.string()).default([]) });
const ForwardRequestSchema = z.object({ envelope: z.unknown().nullish() });

/** containerd.services.events.v1.Events: a thin adapter over the exchange. */
export function eventsService(log: Logger, exchange: EventExchange): ServiceImpl {
  return {
    Publish: unary(log, 'Events/Publish', async (req, ctx) => {
      const { topic, event } = parse(PublishRequestSchema, req, 'publish');
      requireNamespace(ctx);
      if (!event || !event.type_url) throw invalidArgument('publish: event is required');
      exchange.forward({ timestamp: new Date(), namespace: ctx.ns, topic, event: { type_url: event.type_url, value: Buffer.from(event.value) } });
      return {};
    }),
    Forward: unary(log, 'Events/Forward', async (req) => {
      const { envelope } = parse(ForwardRequestSchema, req, 'forward');
      if (!envelope) throw invalidArgument('forward: envelope is required');
      exchange.forward(envelopeFromProto(envelope as Partial<EnvelopeProto>) as Parameters<EventExchange['forward']>[0]);
      return {};
    }),
    // Events from every namespace unless filtered (as containerd: the header is not a filter).
    // The stream never ends by itself; the client's cancel aborts ctx.signal, which ends the
    // subscription and releases its queue.
    Subscribe: serverStream(log, 'Events/Subscribe', async (req, ctx, call) => {
      const { filters } = parse(SubscribeRequestSchema, req, 'subscribe');
      const sub = exchange.subscribe(filters, ctx.signal);
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
