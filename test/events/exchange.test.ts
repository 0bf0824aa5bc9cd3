import { EventExchange, envelopeAdaptor } from '../../src/events/exchange';
import { validateTopic } from '../../src/events/validate';
import { nullLogger } from '../../src/core/logger';
import { isInvalidArgument, errorKind } from '../../src/core/errors';
import { packAny } from '../../src/api/proto';
import type { Envelope } from '../../src/events/types';

async function take(it: AsyncIterator<Envelope>, n: number): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('EventExchange', () => {
  it('delivers events from every namespace to an unfiltered subscriber, in order', async () => {
    const ex = new EventExchange(nullLogger);
    const sub = ex.subscribe([]);
    ex.publish('default', '/namespaces/create', 'containerd.events.NamespaceCreate', { name: 'a' });
    ex.publish('other', '/namespaces/delete', 'containerd.events.NamespaceDelete', { name: 'b' });
    const got = await take(sub[Symbol.asyncIterator](), 2);
    expect(got.map((e) => [e.namespace, e.topic, e.event.type_url])).toEqual([
      ['default', '/namespaces/create', 'containerd.events.NamespaceCreate'],
      ['other', '/namespaces/delete', 'containerd.events.NamespaceDelete'],
    ]);
    sub.close();
    expect(ex.subscriberCount).toBe(0);
  });

  it('filters on topic, namespace and decoded event fields (OR of ANDs)', async () => {
    const ex = new EventExchange(nullLogger);
    const sub = ex.subscribe(['topic=="/images/create",namespace==ns1', 'event.name~=^keep', 'event.labels.a.b==c']);
    const it = sub[Symbol.asyncIterator]();
    ex.publish('ns2', '/images/create', 'containerd.services.images.v1.ImageCreate', { name: 'x' }); // no
    ex.publish('ns1', '/images/create', 'containerd.services.images.v1.ImageCreate', { name: 'y' }); // yes (1)
    ex.publish('ns2', '/images/delete', 'containerd.services.images.v1.ImageDelete', { name: 'keep-me' }); // yes (2)
    ex.publish('ns2', '/images/update', 'containerd.services.images.v1.ImageUpdate', { name: 'z', labels: { 'a.b': 'c' } }); // yes (3)
    ex.publish('ns2', '/images/update', 'containerd.services.images.v1.ImageUpdate', { name: 'z', labels: { 'a.b': 'd' } }); // no
    ex.publish('ns1', '/last', 'containerd.events.NamespaceCreate', { name: 'keep-last' }); // yes (4)
    const got = await take(it, 4);
    expect(got.map((e) => e.topic)).toEqual(['/images/create', '/images/delete', '/images/update', '/last']);
    sub.close();
  });

  it('rejects a malformed filter with InvalidArgument', () => {
    const ex = new EventExchange(nullLogger);
    expect(() => ex.subscribe(['topic=='])).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    expect(ex.subscriberCount).toBe(0);
  });

  it('drops a subscriber that falls behind the queue limit with ResourceExhausted, without blocking publishers', async () => {
    const ex = new EventExchange(nullLogger, { queueLimit: 8 });
    const slow = ex.subscribe([]);
    const fast = ex.subscribe([]);
    const fastIt = fast[Symbol.asyncIterator]();
    for (let i = 0; i < 20; i++) {
      ex.publish('default', '/t', 'containerd.events.NamespaceCreate', { name: `n${i}` });
      await fastIt.next(); // the fast one keeps up
    }
    expect(ex.subscriberCount).toBe(1);
    const it = slow[Symbol.asyncIterator]();
    const first = await it.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorKind(first)).toBe('ResourceExhausted');
    const err = await it.next().then(
      () => undefined,
      (e) => e,
    );
    // After the failure was reported once, the iterator just ends.
    expect(err).toBeUndefined();
    fast.close();
  });

  it('ends a subscription when its signal aborts, and on close()', async () => {
    const ex = new EventExchange(nullLogger);
    const ac = new AbortController();
    const sub = ex.subscribe([], ac.signal);
    const it = sub[Symbol.asyncIterator]();
    const pending = it.next();
    ac.abort();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(ex.subscriberCount).toBe(0);

    const sub2 = ex.subscribe([]);
    const p2 = sub2[Symbol.asyncIterator]().next();
    ex.close();
    await expect(p2).resolves.toMatchObject({ done: true });
  });

  it('logs and drops an event whose payload cannot be encoded, never throwing', () => {
    const lines: string[] = [];
    const log = { ...nullLogger, error: (m: string) => lines.push(m), child: () => log } as typeof nullLogger;
    const ex = new EventExchange(log);
    const sub = ex.subscribe([]);
    expect(() => ex.publish('default', '/x', 'no.such.Type', {})).not.toThrow();
    expect(() => ex.publish('default', '/x', 'containerd.events.NamespaceCreate', { name: 42 as unknown as string })).not.toThrow();
    expect(() => ex.publish('default', 'no-slash', 'containerd.events.NamespaceCreate', { name: 'a' })).not.toThrow();
    expect(lines).toHaveLength(3);
    sub.close();
  });

  it('forward validates the envelope', () => {
    const ex = new EventExchange(nullLogger);
    const event = packAny('containerd.events.NamespaceCreate', { name: 'a' });
    expect(() => ex.forward({ timestamp: new Date(), namespace: '../x', topic: '/a', event })).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    expect(() => ex.forward({ timestamp: new Date(NaN), namespace: 'a', topic: '/a', event })).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    expect(() => ex.forward({ timestamp: new Date(), namespace: 'a', topic: '/a', event })).not.toThrow();
  });
});

describe('validateTopic', () => {
  it.each(['/a', '/tasks/exit', '/a.b/c-d/e_f'])('accepts %s', (t) => expect(validateTopic(t)).toBe(t));
  it.each(['', '/', 'a/b', '/a//b', '/a/', '/../x', '/a/b c', '/' + 'x'.repeat(77)])('rejects %j', (t) => {
    let err: unknown;
    try {
      validateTopic(t);
    } catch (e) {
      err = e;
    }
    expect(isInvalidArgument(err)).toBe(true);
  });
});

describe('envelopeAdaptor', () => {
  it('answers nothing for unknown fields or undecodable events', () => {
    const a = envelopeAdaptor({ timestamp: new Date(), namespace: 'n', topic: '/t', event: { type_url: 'nope.Nope', value: Buffer.alloc(0) } });
    expect(a(['event', 'name'])).toBeUndefined();
    expect(a(['bogus'])).toBeUndefined();
    expect(a(['namespace'])).toBe('n');
  });
});
