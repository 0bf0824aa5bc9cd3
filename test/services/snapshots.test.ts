import { status } from '@grpc/grpc-js';
import type * as grpc from '@grpc/grpc-js';
import { call, collect, nsMetadata, rawClient, startInProcess } from '../helpers/daemon';

const SVC = 'containerd.services.snapshots.v1.Snapshots';
/** Unreferenced snapshots are garbage: keep them from GC as ctr does. */
const ROOT = { 'containerd.io/gc.root': 'now' };

async function code(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as grpc.ServiceError).code;
  }
  return undefined;
}

describe('Snapshots service (gRPC)', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let c: grpc.Client;
  beforeAll(async () => {
    d = await startInProcess();
    c = rawClient(d.daemon.address, SVC);
  });
  afterAll(async () => {
    c.close();
    await d.stop();
  });

  it('prepare/commit/view/stat/list/usage/update/remove with containerd status codes', async () => {
    const sn = 'overlayfs';
    const p = await call(c, 'Prepare', { snapshotter: sn, key: 'extract-1 sha256:aa', labels: { 'containerd.io/gc.root': 'x' } });
    expect(p.mounts).toEqual([
      { type: 'bind', source: expect.stringMatching(/snapshots\/overlayfs\/snapshots\/\d+\/fs$/), target: '', options: ['rw', 'rbind'] },
    ]);
    expect(await code(call(c, 'Prepare', { snapshotter: sn, key: 'extract-1 sha256:aa' }))).toBe(status.ALREADY_EXISTS);
    expect(await code(call(c, 'Stat', { snapshotter: sn, key: 'sha256:aa' }))).toBe(status.NOT_FOUND);
    await call(c, 'Commit', { snapshotter: sn, name: 'sha256:aa', key: 'extract-1 sha256:aa', labels: ROOT });
    expect(await code(call(c, 'Commit', { snapshotter: sn, name: 'sha256:aa', key: 'whatever' }))).toBe(status.ALREADY_EXISTS);
    const st = await call(c, 'Stat', { snapshotter: sn, key: 'sha256:aa' });
    expect(st.info).toMatchObject({ name: 'sha256:aa', parent: '', kind: 'COMMITTED', labels: ROOT });
    const a = await call(c, 'Prepare', { snapshotter: sn, key: 'ctr1', parent: 'sha256:aa', labels: ROOT });
    expect(a.mounts[0].type).toBe('overlay');
    expect(a.mounts[0].options[0]).toBe('index=off');
    expect((await call(c, 'Mounts', { snapshotter: sn, key: 'ctr1' })).mounts).toEqual(a.mounts);
    const v = await call(c, 'View', { snapshotter: sn, key: 'v', parent: 'sha256:aa', labels: ROOT });
    expect(v.mounts[0].options).toEqual(['ro', 'rbind']);
    expect(await code(call(c, 'Commit', { snapshotter: sn, name: 'n', key: 'v' }))).toBe(status.FAILED_PRECONDITION);
    expect(await code(call(c, 'Remove', { snapshotter: sn, key: 'sha256:aa' }))).toBe(status.FAILED_PRECONDITION);

    const up = await call(c, 'Update', { snapshotter: sn, info: { name: 'ctr1', labels: { a: 'b' } }, update_mask: { paths: ['labels.a'] } });
    expect(up.info.labels).toEqual({ ...ROOT, a: 'b' });
    expect(await code(call(c, 'Update', { snapshotter: sn, info: { name: 'ctr1' }, update_mask: { paths: ['kind'] } }))).toBe(status.INVALID_ARGUMENT);

    const all = (await collect(c, 'List', { snapshotter: sn })).flatMap((m) => m.info);
    expect(all.map((i: any) => `${i.name}|${i.kind}|${i.parent}`).sort()).toEqual(['ctr1|ACTIVE|sha256:aa', 'sha256:aa|COMMITTED|', 'v|VIEW|sha256:aa']);
    const filtered = (await collect(c, 'List', { snapshotter: sn, filters: ['kind==active', 'labels.a==b'] })).flatMap((m) => m.info);
    expect(filtered.map((i: any) => i.name)).toEqual(['ctr1']);

    const u = await call(c, 'Usage', { snapshotter: sn, key: 'sha256:aa' });
    expect(Number(u.inodes)).toBe(1);

    // Another namespace sees nothing.
    expect(await collect(c, 'List', { snapshotter: sn }, nsMetadata('other'))).toEqual([]);
    expect(await code(call(c, 'Stat', { snapshotter: sn, key: 'ctr1' }, nsMetadata('other')))).toBe(status.NOT_FOUND);
    expect(await code(call(c, 'Stat', { snapshotter: sn, key: 'ctr1' }, nsMetadata('')))).toBe(status.FAILED_PRECONDITION);
    expect(await code(call(c, 'Stat', { snapshotter: 'zfs', key: 'ctr1' }))).toBe(status.INVALID_ARGUMENT);

    for (const k of ['ctr1', 'v', 'sha256:aa']) await call(c, 'Remove', { snapshotter: sn, key: k });
    expect(await code(call(c, 'Remove', { snapshotter: sn, key: 'v' }))).toBe(status.NOT_FOUND);
    await call(c, 'Cleanup', { snapshotter: sn });
    expect(await collect(c, 'List', { snapshotter: sn })).toEqual([]);
  });

  it('List batches large listings; native is served too and listed in Introspection', async () => {
    for (let i = 0; i < 120; i++) await call(c, 'Prepare', { snapshotter: 'native', key: `k${i}`, labels: ROOT });
    const msgs = await collect(c, 'List', { snapshotter: 'native' });
    expect(msgs.map((m) => m.info.length)).toEqual([100, 20]);
    expect(msgs.flatMap((m) => m.info)).toHaveLength(120);
    for (let i = 0; i < 120; i++) await call(c, 'Remove', { snapshotter: 'native', key: `k${i}` });
    const plugins = d.daemon.plugins.filter((p) => p.type === 'io.containerd.snapshotter.v1').map((p) => p.id);
    expect(plugins.sort()).toEqual(['native', 'overlayfs']);
  });
});
