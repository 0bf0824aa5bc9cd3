/**
 * Engine events on the daemon's event exchange: topic `/engine/container/<action>`, payload
 * `berth.engine.v1.ContainerEvent` with Docker's action names and Actor attributes (name, image,
 * the container's labels, exitCode on die, signal on kill, oldName on rename). containerd's
 * Events/Subscribe (ctr events) sees them beside the /tasks and /containers events. The engine's
 * own subscribers (Engine/Events, `berth events`) read them from here, with the last
 * EVENT_HISTORY of each namespace remembered for `--since`, as dockerd keeps its last events.
 */
import type { Ctx } from '../core/context';
import { invalidArgument, resourceExhausted } from '../core/errors';
import type { EventExchange } from '../events/exchange';
import type { EngineAction, EngineEvent } from './types';

export const ENGINE_EVENT_TYPE = 'berth.engine.v1.ContainerEvent';
export const ENGINE_TOPIC_PREFIX = '/engine/container/';

export interface EventSubject {
  id: string;
  name: string;
  config: { image: string; labels: Record<string, string> };
}

/** Docker keeps the last events in memory for `events --since`; berthd keeps this many per namespace. */
export const EVENT_HISTORY = 1024;
/** Events a subscriber may leave unread before it is dropped (a client that stopped reading). */
const MAX_UNREAD = 10_000;

type Listener = (ns: string, e: EngineEvent) => void;

export interface SubscribeOptions {
  filters?: Record<string, string[]>;
  /** Replay the remembered events from this time first. */
  since?: Date;
  /** End the stream at this time (at once for a past time, after the replay). */
  until?: Date;
}

export class EngineEvents {
  private readonly history = new Map<string, EngineEvent[]>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly exchange?: EventExchange) {}

  publish(ns: string, action: EngineAction, c: EventSubject, extra: Record<string, string> = {}): void {
    const now = Date.now();
    const ev: EngineEvent = {
      action,
      id: c.id,
      name: c.name,
      image: c.config.image,
      time: new Date(now),
      attributes: { ...c.config.labels, image: c.config.image, name: c.name, ...extra },
    };
    const h = this.history.get(ns) ?? [];
    h.push(ev);
    if (h.length > EVENT_HISTORY) h.splice(0, h.length - EVENT_HISTORY);
    this.history.set(ns, h);
    for (const l of this.listeners) l(ns, ev);
    this.exchange?.publish(ns, `${ENGINE_TOPIC_PREFIX}${action}`, ENGINE_EVENT_TYPE, {
      action,
      id: c.id,
      name: c.name,
      image: c.config.image,
      time: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
      attributes: ev.attributes,
    });
  }

  /**
   * Engine events of ctx's namespace: the remembered ones from `since`, then new ones, until
   * `until` or ctx.signal aborts. Docker's filters: `container=<id or name>`, `event=<action>`,
   * `image=`, `label=k[=v]`, `type=container`.
   */
  async *subscribe(ctx: Ctx, o: SubscribeOptions = {}): AsyncIterable<EngineEvent> {
    const filters = o.filters ?? {};
    for (const k of Object.keys(filters)) if (!['container', 'event', 'image', 'label', 'type'].includes(k)) throw invalidArgument(`invalid filter '${k}'`);
    if (o.since && o.until && o.until < o.since) throw invalidArgument('`until` is before `since`');
    const queue: EngineEvent[] = [];
    let wake: (() => void) | undefined;
    let overflow = false;
    const listener: Listener = (ns, e) => {
      if (ns !== ctx.ns) return;
      if (queue.length >= MAX_UNREAD) overflow = true;
      else queue.push(e);
      wake?.();
    };
    // Registered and the history read in the same turn: nothing is missed or seen twice.
    this.listeners.add(listener);
    const past = o.since ? (this.history.get(ctx.ns) ?? []).filter((e) => e.time >= o.since!) : [];
    const untilMs = o.until?.getTime();
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => wake?.();
    ctx.signal?.addEventListener('abort', onAbort);
    try {
      for (const e of past) {
        if (untilMs !== undefined && e.time.getTime() > untilMs) return;
        if (matches(e, filters)) yield e;
      }
      if (untilMs !== undefined) {
        if (untilMs <= Date.now()) return;
        timer = setTimeout(() => wake?.(), untilMs - Date.now());
      }
      for (;;) {
        if (ctx.signal?.aborted) return;
        if (overflow) throw resourceExhausted('events: this subscriber fell too far behind');
        const e = queue.shift();
        if (e) {
          if (untilMs !== undefined && e.time.getTime() > untilMs) return;
          if (matches(e, filters)) yield e;
          continue;
        }
        if (untilMs !== undefined && Date.now() >= untilMs) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.listeners.delete(listener);
      ctx.signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    }
  }
}

function matches(e: EngineEvent, f: Record<string, string[]>): boolean {
  const any = (k: string, test: (v: string) => boolean) => !f[k]?.length || f[k]!.some(test);
  return (
    any('type', (v) => v === 'container') &&
    any('container', (v) => e.id.startsWith(v) || e.name === v.replace(/^\//, '')) &&
    any('event', (v) => v === e.action) &&
    any('image', (v) => e.image === v || e.attributes.image === v) &&
    any('label', (v) => {
      const [k, val] = v.split(/=(.*)/s, 2) as [string, string | undefined];
      return val === undefined ? k in e.attributes : e.attributes[k] === val;
    })
  );
}
