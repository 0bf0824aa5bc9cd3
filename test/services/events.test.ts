import * as grpc from '@grpc/grpc-js';
import { startInProcess, rawClient, call, nsMetadata } from '../helpers/daemon';
import { packAny, unpackAny } from '../../src/api/proto';
import type { EventExchange } from '../../src/events/exchange';
import { EVENTS } from '../../src/daemon/slices/events';

const SVC = 'containerd.services.events.v1.Events';

describe('Events service', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let client: grpc.Client;
  let exchange: EventExchange;

  beforeAll(async () => {
    d = await startInProcess();
    client = rawClient(d.daemon.address, SVC);
    exchange = d.daemon.parts.get(EVENTS);
  });
  afterAll(async () => {
    client.close();
    await d.stop();
  });

  async function subscribed(n: number) {
    while (exchange.subscriberCount < n) await new Promise((r) => setTimeout(r, 5));
  }

  function subscribe(filters: string[], md = nsMetadata('default')) {
    const stream = (client as any).Subscribe({ filters }, md) as grpc.ClientReadableStream<any>;
    const got: any[] = [];
    const waiters: Array<() => void> = [];
    let error: grpc.ServiceError | undefined;
    stream.on('data', (m) => {
      got.push(m);
      waiters.splice(0).forEach((w) => w());
    });
    stream.on('error', (e: grpc.ServiceError) => {
      error = e;
      waiters.splice(0).forEach((w) => w());
    });
    const until = async (n: number) => {
      while (got.length < n && !error) await new Promise<void>((r) => waiters.push(r));
      return got;
    };
    return { stream, got, until, err: () => error };
  }

  it('Publish reaches every unfiltered subscriber across namespaces; Forward keeps its own namespace and time', async () => {
    const s = subscribe([], nsMetadata('default'));
    await subscribed(1);
    await call(
      client,
      'Publish',
      { topic: '/test/one', event: packAny('containerd.events.NamespaceCreate', { name: 'x', labels: { a: 'b' } }) },
      nsMetadata('ns2'),
    );
    const ts = { seconds: '1700000000', nanos: 5000000 };
    await call(client, 'Forward', {
      envelope: {
        timestamp: ts,
        namespace: 'ns3',
        topic: '/test/two',
        event: packAny('containerd.events.ContentDelete', { digest: 'sha256:' + 'a'.repeat(64) }),
      },
    });
    const got = await s.until(2);
    expect(got[0]).toMatchObject({ namespace: 'ns2', topic: '/test/one', event: { type_url: 'containerd.events.NamespaceCreate' } });
    expect(unpackAny(got[0].event)).toEqual({ name: 'x', labels: { a: 'b' } });
    expect(got[1]).toMatchObject({ namespace: 'ns3', topic: '/test/two', timestamp: ts });
    s.stream.cancel();
    while (exchange.subscriberCount > 0) await new Promise((r) => setTimeout(r, 5));
  });

  it('Subscribe honours filters', async () => {
    const s = subscribe(['topic=="/b"', 'namespace==only,event.name==y']);
    await subscribed(1);
    for (const [ns, topic, name] of [
      ['a', '/a', 'y'],
      ['a', '/b', 'x'],
      ['only', '/c', 'x'],
      ['only', '/d', 'y'],
    ]) {
      await call(client, 'Publish', { topic, event: packAny('containerd.events.NamespaceCreate', { name }) }, nsMetadata(ns));
    }
    const got = await s.until(2);
    expect(got.map((e) => `${e.namespace}${e.topic}`)).toEqual(['a/b', 'only/d']);
    s.stream.cancel();
    while (exchange.subscriberCount > 0) await new Promise((r) => setTimeout(r, 5));
  });

  it('a client cancel ends the stream and releases the subscription', async () => {
    const subs = [subscribe([]), subscribe([]), subscribe([])];
    await subscribed(3);
    subs.forEach((s) => s.stream.cancel());
    while (exchange.subscriberCount > 0) await new Promise((r) => setTimeout(r, 5));
    expect(exchange.subscriberCount).toBe(0);
  });

  it('rejects bad requests with precise codes', async () => {
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 0,
        (e: grpc.ServiceError) => e.code,
      );
    const ev = packAny('containerd.events.NamespaceCreate', { name: 'x' });
    expect(await codeOf(call(client, 'Publish', { topic: 'no-slash', event: ev }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await codeOf(call(client, 'Publish', { topic: '/a/../b', event: ev }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await codeOf(call(client, 'Publish', { topic: '/a' }))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await codeOf(call(client, 'Publish', { topic: '/a', event: ev }, nsMetadata('')))).toBe(grpc.status.FAILED_PRECONDITION);
    expect(await codeOf(call(client, 'Forward', {}))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await codeOf(call(client, 'Forward', { envelope: { namespace: 'a', topic: '/a', event: ev } }))).toBe(grpc.status.INVALID_ARGUMENT); // zero time
    const s = subscribe(['topic~=(']);
    await s.until(1);
    expect(s.err()?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});
