import { EventExchange } from '../../events/exchange';
import { EVENTS_SERVICE, eventsService } from '../../services/events';
import { Part, type Slice } from '../slice';

/** The event exchange: every slice that publishes requires it. */
export const EVENTS = new Part<EventExchange>('events');

export const eventsSlice: Slice = {
  name: 'events',
  requires: [],
  provides: [EVENTS],
  plugins: () => [
    { type: 'io.containerd.event.v1', id: 'exchange' },
    { type: 'io.containerd.grpc.v1', id: 'events', requires: ['io.containerd.event.v1'] },
  ],
  wire(ctx) {
    const exchange = new EventExchange(ctx.log.child({ component: 'events' }));
    // Ending subscriptions at shutdown lets the server drain at once instead of waiting for the force timeout.
    ctx.onShutdown(() => exchange.close());
    ctx.provide(EVENTS, exchange);
    ctx.services.add(EVENTS_SERVICE, eventsService(ctx.log, exchange));
  },
};
