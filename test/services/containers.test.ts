import { status } from '@grpc/grpc-js';
import { call, collect, nsMetadata, rawClient, startInProcess } from '../helpers/daemon';

const SVC = 'containerd.services.containers.v1.Containers';
const spec = (args: string[]) => ({
  type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec',
  value: Buffer.from(JSON.stringify({ ociVersion: '1.0.2', process: { args } })),
});
const runcOpts = { type_url: 'containerd.runc.v1.Options', value: Buffer.alloc(0) };

function container(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    labels: { 'io.containerd.image.config.stop-signal': 'SIGTERM' },
    image: 'docker.io/library/busybox:latest',
    runtime: { name: 'io.containerd.runc.v2', options: runcOpts },
    spec: spec(['sh']),
    snapshotter: 'overlayfs',
    snapshot_key: id,
    extensions: {},
    ...extra,
  };
}

describe('Containers service', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let c: ReturnType<typeof rawClient>;
  beforeAll(async () => {
    d = await startInProcess();
    c = rawClient(d.dirs.address, SVC);
  });
  afterAll(async () => {
    c.close();
    await d.stop();
  });

  it('creates, gets, lists (also as a stream), updates and deletes a container, keeping Any values byte for byte', async () => {
    const created = await call(c, 'Create', { container: container('c1') });
    expect(created.container.id).toBe('c1');
    expect(Number(created.container.created_at.seconds)).toBeGreaterThan(1.7e9);
    const got = (await call(c, 'Get', { id: 'c1' })).container;
    expect(got.spec.type_url).toBe('types.containerd.io/opencontainers/runtime-spec/1/Spec');
    expect(JSON.parse(Buffer.from(got.spec.value).toString())).toEqual({ ociVersion: '1.0.2', process: { args: ['sh'] } });
    expect(got.runtime.name).toBe('io.containerd.runc.v2');
    expect(got.runtime.options.type_url).toBe('containerd.runc.v1.Options');
    expect(got.snapshot_key).toBe('c1');

    await call(c, 'Create', { container: container('c2', { image: 'other:1', labels: { team: 'a' } }) });
    expect((await call(c, 'List', { filters: [] })).containers.map((x: { id: string }) => x.id).sort()).toEqual(['c1', 'c2']);
    expect((await call(c, 'List', { filters: ['labels.team==a'] })).containers.map((x: { id: string }) => x.id)).toEqual(['c2']);
    expect((await call(c, 'List', { filters: ['image==other:1', 'id==c1'] })).containers).toHaveLength(2);
    expect((await call(c, 'List', { filters: ['runtime.name==io.containerd.runc.v2,id==c2'] })).containers).toHaveLength(1);
    const streamed = await collect(c, 'ListStream', { filters: [] });
    expect(streamed.map((m) => m.container.id).sort()).toEqual(['c1', 'c2']);

    const upd = await call(c, 'Update', { container: { ...container('c1'), labels: { x: 'y' }, image: 'ignored' }, update_mask: { paths: ['labels.x'] } });
    expect(upd.container.labels).toEqual({ 'io.containerd.image.config.stop-signal': 'SIGTERM', x: 'y' });
    expect(upd.container.image).toBe('docker.io/library/busybox:latest');
    const full = await call(c, 'Update', { container: { ...container('c1'), labels: {}, image: 'new' } });
    expect(full.container.labels).toEqual({});
    expect(full.container.image).toBe('new');

    await call(c, 'Delete', { id: 'c1' });
    await expect(call(c, 'Get', { id: 'c1' })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await call(c, 'Delete', { id: 'c2' });
  });

  it('keeps namespaces apart', async () => {
    await call(c, 'Create', { container: container('same') }, nsMetadata('a'));
    await call(c, 'Create', { container: container('same') }, nsMetadata('b'));
    await call(c, 'Delete', { id: 'same' }, nsMetadata('a'));
    expect((await call(c, 'Get', { id: 'same' }, nsMetadata('b'))).container.id).toBe('same');
    await expect(call(c, 'Get', { id: 'same' }, nsMetadata('a'))).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it.each([
    ['a duplicate id', async () => call(c, 'Create', { container: container('dup') }), status.ALREADY_EXISTS],
    ['a path-like id', async () => call(c, 'Create', { container: container('../../x') }), status.INVALID_ARGUMENT],
    ['no runtime name', async () => call(c, 'Create', { container: container('nr', { runtime: { name: '' } }) }), status.INVALID_ARGUMENT],
    ['no spec', async () => call(c, 'Create', { container: container('ns', { spec: null }) }), status.INVALID_ARGUMENT],
    ['a snapshot key without snapshotter', async () => call(c, 'Create', { container: container('sk', { snapshotter: '' }) }), status.INVALID_ARGUMENT],
    ['no container at all', async () => call(c, 'Create', {}), status.INVALID_ARGUMENT],
    ['a changed runtime', async () => call(c, 'Update', { container: container('dup', { runtime: { name: 'other' } }) }), status.INVALID_ARGUMENT],
    ['an unknown field path', async () => call(c, 'Update', { container: container('dup'), update_mask: { paths: ['runtime'] } }), status.INVALID_ARGUMENT],
    ['an update of a missing container', async () => call(c, 'Update', { container: container('missing') }), status.NOT_FOUND],
    ['no namespace header', async () => call(c, 'List', {}, nsMetadata('')), status.FAILED_PRECONDITION],
    ['a bad filter', async () => call(c, 'List', { filters: ['id=='] }), status.INVALID_ARGUMENT],
  ])('rejects %s with the right code', async (_what, fn, code) => {
    await call(c, 'Create', { container: container('dup') }).catch(() => undefined);
    await expect(fn()).rejects.toMatchObject({ code });
  });
});

describe('the containerd-lease header', () => {
  it('accepts the ids ctr draws (nanoseconds, dash, 4 base64url chars), even ones ending in _ or -', async () => {
    const d = await startInProcess();
    const leases = rawClient(d.dirs.address, 'containerd.services.leases.v1.Leases');
    const cs = rawClient(d.dirs.address, SVC);
    try {
      for (const id of ['511965754-ZLU_', '62829896-jx-q', '1-_-__']) {
        await call(leases, 'Create', { id, labels: {} });
        await call(cs, 'Create', { container: container(`c${id.length}${id.endsWith('_') ? 'u' : 'x'}`) }, nsMetadata('default', id));
      }
      await expect(call(cs, 'List', {}, nsMetadata('default', 'bad/../id'))).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    } finally {
      leases.close();
      cs.close();
      await d.stop();
    }
  });
});
