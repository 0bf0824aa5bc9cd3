import { resourceExhausted } from '../core/errors';
import { parseFilters, type Adaptor, type Filter } from '../core/filters';
import type { Logger } from '../core/logger';
import { packAny, unpackAny } from '../api/proto';
import type { Envelope, EventPublisher } from './types';
import { validateEnvelope, validateTopic } from './validate';

/**
 * The in-process event exchange (containerd's events/exchange).
 *
 * Filtering happens on the publisher's side, before queueing, as in containerd (goevents.Filter
 * in front of each subscriber's queue). Unlike containerd, whose per-subscriber goevents.Queue is
 * an unbounded linked list, each queue here is bounded: a subscriber that falls `queueLimit`
 * events behind is dropped with RESOURCE_EXHAUSTED. We drop the subscriber rather than the oldest
 * events because a silent gap is invisible to the client, while a failed stream is not (ctr
 * exits with an error and can resubscribe). Publishers never block and never see an error.
 */

/** ~200 bytes an envelope: at most ~13 MiB pending per subscriber, enough for a GC burst of deletes. */
export const DEFAULT_QUEUE_LIMIT = 65536;

export interface ExchangeOptions {
  /** Events a subscriber may have pending before it is dropped. */
  queueLimit?: number;
}

/** One subscription; iterate it once. Ends when the signal aborts, `close()` is called or the exchange closes. */
export interface Subscription extends AsyncIterable<Envelope> {
  close(): void;
}

/**
 * Adaptor over an envelope: `topic`, `namespace`, and `event.<field>…` (containerd's
 * Envelope.Field). The Any is decoded only when a filter asks for an event field, once per
 * envelope however many subscribers look.
 */
export function envelopeAdaptor(env: Envelope): Adaptor {
  let decoded: Record<string, unknown> | null | undefined;
  return (path) => {
    switch (path[0]) {
      case 'namespace':
        return env.namespace || undefined;
      case 'topic':
        return env.topic || undefined;
      case 'event': {
        if (decoded === undefined) {
          try {
            decoded = unpackAny(env.event);
          } catch {
            decoded = null; // unknown type URL: event fields never match, as in containerd
          }
        }
        return decoded ? fieldOf(decoded, path.slice(1)) : undefined;
      }
      default:
        return undefined;
    }
  };
}

/**
 * Generated `Field` methods in containerd answer string fields, `labels.<key>` (the rest of
 * the path is the key, dots included) and nested messages.
 */
function fieldOf(obj: Record<string, unknown>, path: string[]): string | undefined {
  if (path.length === 0) return undefined;
  const v = obj[path[0]!];
  if (typeof v === 'string') return path.length === 1 ? v || undefined : undefined;
  if (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
    const rest = path.slice(1);
    if (rest.length === 0) return undefined;
    const rec = v as Record<string, unknown>;
    const asKey = rec[rest.join('.')];
    if (typeof asKey === 'string') return asKey || undefined; // map<string,string>
    return fieldOf(rec, rest);
  }
  return undefined;
}

class Subscriber implements Subscription {
  private queue: Envelope[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<Envelope>) => void; reject: (e: unknown) => void } | undefined;
  private failure: unknown;
  private done = false;
  private iterated = false;

  constructor(
    readonly filter: Filter,
    private readonly limit: number,
    private readonly detach: (s: Subscriber) => void,
  ) {}

  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Called by the exchange for a matching envelope. Never throws, never blocks. */
  deliver(env: Envelope): void {
    if (this.done) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: env, done: false });
      return;
    }
    if (this.pending >= this.limit) {
      this.fail(resourceExhausted(`events subscriber fell ${this.limit} events behind: dropped`));
      return;
    }
    this.queue.push(env);
  }

  fail(e: unknown): void {
    if (this.done) return;
    this.failure = e;
    this.finish();
  }

  close(): void {
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.head = 0;
    this.detach(this);
    const w = this.waiter;
    this.waiter = undefined;
    if (w) {
      if (this.failure !== undefined) w.reject(this.failure);
      else w.resolve({ value: undefined, done: true });
    }
  }

  private next(): Promise<IteratorResult<Envelope>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Envelope;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      if (this.failure !== undefined) {
        const f = this.failure;
        this.failure = undefined; // report once, then end
        return Promise.reject(f);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<Envelope> {
    if (this.iterated) throw new Error('a subscription can be iterated only once');
    this.iterated = true;
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}

export class EventExchange implements EventPublisher {
  private readonly subscribers = new Set<Subscriber>();
  private readonly limit: number;
  private closed = false;

  constructor(
    private readonly log: Logger,
    opts: ExchangeOptions = {},
  ) {
    this.limit = opts.queueLimit ?? DEFAULT_QUEUE_LIMIT;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * EventPublisher: encodes `payload` as `typeName`. A bad topic or payload is logged, never thrown.
   * With no subscriber nothing is encoded: a `ctr run --rm` publishes eight events that nobody
   * reads, and packing them was ~0.8 ms of main-thread work per run, inside the Tasks handlers.
   */
  publish(namespace: string, topic: string, typeName: string, payload: Record<string, unknown>): void {
    if (this.subscribers.size === 0) return;
    let env: Envelope;
    try {
      env = validateEnvelope({ timestamp: new Date(), namespace, topic, event: packAny(typeName, payload) });
    } catch (e) {
      this.log.error('event dropped: cannot encode', { namespace, topic, type: typeName, err: e as Error });
      return;
    }
    this.dispatch(env);
  }

  /** Publishes an already-encoded envelope (Events/Publish and Forward). Throws InvalidArgument. */
  forward(env: Partial<Envelope>): void {
    this.dispatch(validateEnvelope(env));
  }

  /**
   * Subscribes with containerd filters (OR of ANDs over `topic`, `namespace`, `event.*`); no filter =
   * every namespace. Registers at once, so events published after this returns are delivered.
   * Throws InvalidArgument for a bad filter.
   */
  subscribe(filters: readonly string[] = [], signal?: AbortSignal): Subscription {
    const filter = parseFilters(filters);
    const sub = new Subscriber(filter, this.limit, (s) => this.subscribers.delete(s));
    if (this.closed || signal?.aborted) {
      sub.close();
      return sub;
    }
    this.subscribers.add(sub);
    signal?.addEventListener('abort', () => sub.close(), { once: true });
    return sub;
  }

  /** Ends every subscription (daemon shutdown); later publishes go nowhere. */
  close(): void {
    this.closed = true;
    for (const s of [...this.subscribers]) s.close();
  }

  private dispatch(env: Envelope): void {
    if (this.subscribers.size === 0) return;
    const adaptor = envelopeAdaptor(env);
    for (const s of [...this.subscribers]) {
      let match: boolean;
      try {
        match = s.filter(adaptor);
      } catch (e) {
        this.log.warn('event filter failed', { topic: env.topic, err: e as Error });
        match = false;
      }
      if (!match) continue;
      s.deliver(env);
      if (!this.subscribers.has(s)) this.log.warn('events subscriber dropped: too far behind', { limit: this.limit, topic: env.topic });
    }
  }
}

export { validateTopic, validateEnvelope };
