import * as grpc from '@grpc/grpc-js';
import { startInProcess, rawClient, call } from '../helpers/daemon';

describe('Introspection/Plugins', () => {
  let d: Awaited<ReturnType<typeof startInProcess>>;
  let client: grpc.Client;
  beforeAll(async () => {
    d = await startInProcess();
    client = rawClient(d.daemon.address, 'containerd.services.introspection.v1.Introspection');
  });
  afterAll(async () => {
    client.close();
    await d.stop();
  });

  it("lists berth's own plugins and filters by type, id and capabilities", async () => {
    const all = (await call(client, 'Plugins', {})).plugins;
    const ids = all.map((p: any) => `${p.type}/${p.id}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        'io.containerd.event.v1/exchange',
        'io.containerd.grpc.v1/events',
        'io.containerd.grpc.v1/version',
        'io.containerd.grpc.v1/introspection',
      ]),
    );
    const grpcOnly = (await call(client, 'Plugins', { filters: ['type==io.containerd.grpc.v1'] })).plugins;
    expect(grpcOnly.length).toBeGreaterThan(0);
    expect(grpcOnly.every((p: any) => p.type === 'io.containerd.grpc.v1')).toBe(true);
    const two = (await call(client, 'Plugins', { filters: ['id==version', 'id==exchange'] })).plugins;
    expect(two.map((p: any) => p.id).sort()).toEqual(['exchange', 'version']);
  });

  it('reads the plugin list at call time (later slices append to it)', async () => {
    d.daemon.plugins.push({ type: 'io.berth.test.v1', id: 'late', capabilities: ['a', 'b'] });
    const got = (await call(client, 'Plugins', { filters: ['capabilities==b'] })).plugins;
    expect(got).toEqual([expect.objectContaining({ type: 'io.berth.test.v1', id: 'late', capabilities: ['a', 'b'] })]);
    d.daemon.plugins.pop();
  });

  it('rejects a malformed filter with INVALID_ARGUMENT', async () => {
    await expect(call(client, 'Plugins', { filters: ['id=='] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});
