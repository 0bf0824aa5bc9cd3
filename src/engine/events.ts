/**
 * Engine events on the daemon's event exchange: topic `/engine/container/<action>`, payload
 * `berth.engine.v1.ContainerEvent` with Docker's action names and Actor attributes (name, image,
 * the container's labels, exitCode on die, signal on kill, oldName on rename). containerd's
 * Events/Subscribe (ctr events) sees them beside the /tasks and /containers events.
 */
import { unpackAny } from '../api/proto';
import type { Ctx } from '../core/context';
import { invalidArgument } from '../core/errors';
import type { EventExchange } from '../events/exchange';
import type { EngineAction, EngineEvent } from './types';

export const ENGINE_EVENT_TYPE = 'berth.engine.v1.ContainerEvent';
export const ENGINE_TOPIC_PREFIX = '/engine/container/';

export interface EventSubject {
  id: string;
  name: string;
  config: { image: string; labels: Record<string, string> };
}

export class EngineEvents {
  constructor(private readonly exchange?: EventExchange) {}

  publish(ns: string, action: EngineAction, c: EventSubject, extra: Record<string, string> = {}): void {
    const now = Date.now();
    this.exchange?.publish(ns, `${ENGINE_TOPIC_PREFIX}${action}`, ENGINE_EVENT_TYPE, {
      action,
      id: c.id,
      name: c.name,
      image: c.config.image,
      time: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
      attributes: { ...c.config.labels, image: c.config.image, name: c.name, ...extra },
    });
  }

  /**
   * Engine events of ctx's namespace from now on, until ctx.signal aborts. Docker's filters:
   * `container=<id or name>`, `event=<action>`, `image=`, `label=k[=v]`.
   */
  async *subscribe(ctx: Ctx, filters: Record<string, string[]> = {}): AsyncIterable<EngineEvent> {
    if (!this.exchange) return;
    for (const k of Object.keys(filters)) if (!['container', 'event', 'image', 'label', 'type'].includes(k)) throw invalidArgument(`invalid filter '${k}'`);
    const sub = this.exchange.subscribe([`namespace==${ctx.ns},topic~="^${ENGINE_TOPIC_PREFIX}"`], ctx.signal);
    try {
      for await (const env of sub) {
        const m = unpackAny<{ action: string; id: string; name: string; image: string; attributes?: Record<string, string>; time?: { seconds?: string | number; nanos?: number } }>(env.event);
        const secs = Number(m.time?.seconds ?? 0);
        const ev: EngineEvent = { action: m.action as EngineAction, id: m.id, name: m.name, image: m.image, time: new Date(secs * 1000 + (m.time?.nanos ?? 0) / 1e6), attributes: { ...(m.attributes ?? {}) } };
        if (matches(ev, filters)) yield ev;
      }
    } finally {
      sub.close();
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
