import * as grpc from '@grpc/grpc-js';
import { call, nsMetadata, rawClient, startInProcess } from '../helpers/daemon';
import { packAny, unpackAny } from '../../src/api/proto';

const NS = 'containerd.services.namespaces.v1.Namespaces';
const IMAGES = 'containerd.services.images.v1.Images';
const LEASES = 'containerd.services.leases.v1.Leases';
const EVENTS = 'containerd.services.events.v1.Events';
const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const MT = 'application/vnd.oci.image.manifest.v1+json';
const ZERO = { seconds: '-62135596800', nanos: 0 };

describe('Namespaces, Images and Leases services over the socket', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let ns: grpc.Client;
  let im: grpc.Client;
  let ls: grpc.Client;
  let ev: grpc.Client;
  beforeAll(async () => {
    d = await startInProcess({ gc: { scheduleDelayMs: 3600_000 } });
    ns = rawClient(d.dirs.address, NS);
    im = rawClient(d.dirs.address, IMAGES);
    ls = rawClient(d.dirs.address, LEASES);
    ev = rawClient(d.dirs.address, EVENTS);
  });
  afterAll(async () => {
    for (const c of [ns, im, ls, ev]) c.close();
    await d.stop();
  });

  it('Namespaces: create/get/list/update/delete with events; errors map to codes', async () => {
    const events: Array<{ namespace: string; topic: string; event: any }> = [];
    const sub = (ev as any).Subscribe({ filters: ['topic~="/namespaces/"', 'topic=="/probe"'] }, nsMetadata());
    let probed = false;
    sub.on('data', (e: any) => (e.topic === '/probe' ? (probed = true) : events.push({ namespace: e.namespace, topic: e.topic, event: unpackAny(e.event) })));
    sub.on('error', () => undefined);
    // Publish probes until the subscription sees one: it is registered from then on.
    while (!probed) {
      await call(ev, 'Publish', { topic: '/probe', event: packAny('containerd.events.NamespaceDelete', { name: 'probe' }) });
      await new Promise((r) => setTimeout(r, 10));
    }

    const created = await call(ns, 'Create', { namespace: { name: 'svcns', labels: { foo: 'bar' } } });
    expect(created.namespace).toEqual({ name: 'svcns', labels: { foo: 'bar' } });
    await expect(call(ns, 'Create', { namespace: { name: 'svcns' } })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    await expect(call(ns, 'Create', {})).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(call(ns, 'Create', { namespace: { name: '../x' } })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((await call(ns, 'Get', { name: 'svcns' })).namespace.labels).toEqual({ foo: 'bar' });
    await expect(call(ns, 'Get', { name: 'nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    const up = await call(ns, 'Update', { namespace: { name: 'svcns', labels: { n: '1' } }, update_mask: { paths: ['labels.n'] } });
    expect(up.namespace.labels).toEqual({ foo: 'bar', n: '1' });
    await expect(call(ns, 'Update', { namespace: { name: 'svcns' }, update_mask: { paths: ['bogus'] } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    expect((await call(ns, 'List', {}, nsMetadata(''))).namespaces.map((n: any) => n.name)).toContain('svcns');
    await call(ns, 'Delete', { name: 'svcns' });
    await expect(call(ns, 'Delete', { name: 'svcns' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });

    while (events.length < 3) await new Promise((r) => setTimeout(r, 10));
    sub.cancel();
    expect(events.map((e) => [e.namespace, e.topic])).toEqual([
      ['default', '/namespaces/create'],
      ['default', '/namespaces/update'],
      ['svcns', '/namespaces/delete'],
    ]);
    expect(events[0]!.event).toMatchObject({ name: 'svcns', labels: { foo: 'bar' } });
  });

  it('Images: ctr-style create (zero times), AlreadyExists then Update, import-style Update NotFound, List filters, Delete', async () => {
    const image = {
      name: 'docker.io/library/x:1',
      labels: { a: 'b' },
      target: { media_type: MT, digest: D1, size: '42', annotations: {} },
      created_at: ZERO,
      updated_at: ZERO,
    };
    await expect(call(im, 'Update', { image, update_mask: { paths: ['target'] } })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    const c = (await call(im, 'Create', { image })).image;
    expect(c.name).toBe(image.name);
    expect(c.target).toEqual({ media_type: MT, digest: D1, size: '42', annotations: {} });
    expect(Number(c.created_at.seconds)).toBeGreaterThan(1_600_000_000);
    expect(c.updated_at).toEqual(c.created_at);
    await expect(call(im, 'Create', { image })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    const u = (await call(im, 'Update', { image: { ...image, labels: {}, target: { ...image.target, digest: D2 } } })).image;
    expect(u.labels).toEqual({});
    expect(u.target.digest).toBe(D2);
    expect(u.created_at).toEqual(c.created_at);
    expect((await call(im, 'Get', { name: image.name })).image.target.digest).toBe(D2);
    await call(im, 'Create', { image: { ...image, name: 'other' } });
    expect((await call(im, 'List', { filters: [`target.digest==${D2}`] })).images.map((i: any) => i.name)).toEqual([image.name]);
    expect((await call(im, 'List', { filters: ['name==other', 'name==none'] })).images.map((i: any) => i.name)).toEqual(['other']);
    expect((await call(im, 'List', {}, nsMetadata('emptyns'))).images).toEqual([]);
    await expect(call(im, 'List', { filters: ['name=='] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(call(im, 'Create', { image: { ...image, name: 'bad', target: { ...image.target, digest: 'sha256:xyz' } } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(call(im, 'Create', { image: { ...image, name: '' } })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(call(im, 'Create', { image: { ...image, name: 'nomt', target: { ...image.target, media_type: '' } } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(call(im, 'Create', {})).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(call(im, 'Get', { name: 'x' }, nsMetadata(''))).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    await call(im, 'Delete', { name: 'other', sync: true });
    await call(im, 'Delete', { name: image.name });
    await expect(call(im, 'Delete', { name: image.name })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(call(im, 'Get', { name: image.name })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('Leases: generated id, explicit id, list with filters, resources, delete', async () => {
    const gen = (await call(ls, 'Create', { labels: { 'containerd.io/gc.expire': '2100-01-01T00:00:00Z' } })).lease;
    expect(gen.id).toMatch(/^\d+-[A-Za-z0-9_-]{4}$/);
    expect(Number(gen.created_at.seconds)).toBeGreaterThan(1_600_000_000);
    await call(ls, 'Create', { id: '62829896-jx-q', labels: { k: 'v' } });
    await expect(call(ls, 'Create', { id: '62829896-jx-q' })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    expect((await call(ls, 'List', {})).leases.map((l: any) => l.id).sort()).toEqual([gen.id, '62829896-jx-q'].sort());
    expect((await call(ls, 'List', { filters: ['labels.k==v'] })).leases.map((l: any) => l.id)).toEqual(['62829896-jx-q']);
    await call(ls, 'AddResource', { id: gen.id, resource: { id: D1, type: 'content' } });
    await call(ls, 'AddResource', { id: gen.id, resource: { id: 'k1', type: 'snapshots/overlayfs' } });
    await expect(call(ls, 'AddResource', { id: gen.id, resource: { id: 'x', type: 'nope' } })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(call(ls, 'AddResource', { id: gen.id })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(call(ls, 'AddResource', { id: 'missing', resource: { id: D1, type: 'content' } })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect((await call(ls, 'ListResources', { id: gen.id })).resources).toEqual(
      expect.arrayContaining([
        { id: D1, type: 'content' },
        { id: 'k1', type: 'snapshots/overlayfs' },
      ]),
    );
    await call(ls, 'DeleteResource', { id: gen.id, resource: { id: 'k1', type: 'snapshots/overlayfs' } });
    expect((await call(ls, 'ListResources', { id: gen.id })).resources).toEqual([{ id: D1, type: 'content' }]);
    // ctr sends the lease header even on the closing Delete
    await call(ls, 'Delete', { id: '62829896-jx-q' }, nsMetadata('default', '62829896-jx-q'));
    await call(ls, 'Delete', { id: gen.id, sync: true });
    await expect(call(ls, 'Delete', { id: gen.id })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect((await call(ls, 'List', {})).leases).toEqual([]);
  });
});
