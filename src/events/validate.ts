import { invalidArgument } from '../core/errors';
import { isValidId } from '../core/identifiers';
import type { Envelope } from './types';

/**
 * containerd's exchange.validateTopic: a topic starts with `/` and each `/`-separated component
 * is an identifier (alnum joined by `._-`, at most 76 characters).
 */
export function validateTopic(topic: string): string {
  if (!topic) throw invalidArgument('event topic: must not be empty');
  if (topic[0] !== '/') throw invalidArgument(`event topic ${JSON.stringify(topic.slice(0, 80))}: must start with "/"`);
  if (topic.length === 1) throw invalidArgument('event topic "/": must have at least one component');
  for (const c of topic.slice(1).split('/')) {
    if (!isValidId(c)) throw invalidArgument(`event topic ${JSON.stringify(topic.slice(0, 80))}: invalid component ${JSON.stringify(c.slice(0, 80))}`);
  }
  return topic;
}

/** containerd's exchange.validateEnvelope (Forward): valid namespace and topic, timestamp set. */
export function validateEnvelope(env: Partial<Envelope>): Envelope {
  if (!env.namespace || !isValidId(env.namespace)) {
    throw invalidArgument(`event envelope namespace ${JSON.stringify((env.namespace ?? '').slice(0, 80))}: invalid namespace`);
  }
  validateTopic(env.topic ?? '');
  if (!env.timestamp || Number.isNaN(env.timestamp.getTime())) throw invalidArgument('event envelope: timestamp must be set on a forwarded event');
  if (!env.event || !env.event.type_url) throw invalidArgument('event envelope: event is required');
  return env as Envelope;
}
