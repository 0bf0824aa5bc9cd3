/**
 * The generated wire types and descriptors (src/api): the same services and methods as the .proto
 * text, bytes identical to protobufjs's for the same object, 64-bit values exact, Any values kept
 * verbatim, and usable from berth's own client channel against the real berthd.
 */
import { codecOf, packAny, service, serviceNames, unpackAny } from '../../src/api';
import { protoRoot } from '../../src/api/reflect';
import { H2Channel } from '../../src/transport/grpc/client-channel';
import { startInProcess } from '../helpers/daemon';

const U64_MAX = '18446744073709551615';

describe('generated descriptors', () => {
  it('name every service and method of proto/ with the streaming kinds the .proto text declares', () => {
    const root = protoRoot();
    expect(serviceNames().length).toBeGreaterThan(10);
    for (const name of serviceNames()) {
      const text = root.lookupService(name);
      const gen = service(name).methods as Record<string, { path: string; requestStream: boolean; responseStream: boolean }>;
      expect(Object.keys(gen).sort()).toEqual(text.methodsArray.map((m) => m.name).sort());
      for (const m of text.methodsArray) {
        expect(gen[m.name]).toMatchObject({ path: `/${name}/${m.name}`, requestStream: !!m.requestStream, responseStream: !!m.responseStream });
      }
    }
  });

  it('encode a message to the bytes protobufjs encodes, and decode them back with 64-bit values exact', () => {
    const msg = {
      timestamp: { seconds: '1700000000', nanos: 5 },
      id: 'c1',
      data: packAny('io.containerd.cgroups.v1.Metrics', {
        memory: { usage: { usage: U64_MAX, limit: '9223372036854775807' } },
        cpu: { usage: { per_cpu: [U64_MAX, '1'] } },
      }),
    };
    const gen = codecOf('containerd.types.Metric');
    const bytes = Buffer.from(gen.encode(gen.fromPartial(msg)).finish());
    const T = protoRoot().lookupType('containerd.types.Metric');
    expect(bytes).toEqual(Buffer.from(T.encode(T.fromObject(msg)).finish()));
    const back = gen.decode(bytes);
    expect(back.data!.type_url).toBe('io.containerd.cgroups.v1.Metrics');
    const m = unpackAny<{ memory: { usage: { usage: string; limit: string } }; cpu: { usage: { per_cpu: string[] } } }>(back.data!);
    expect(m.memory.usage).toMatchObject({ usage: U64_MAX, limit: '9223372036854775807' });
    expect(m.cpu.usage.per_cpu).toEqual([U64_MAX, '1']);
  });

  it('keep an Any value verbatim, bare type URL and bytes, even when its type is unknown', () => {
    const value = Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63, 0xff, 0x00]);
    const env = { timestamp: { seconds: '1', nanos: 0 }, namespace: 'n', topic: '/t', event: { type_url: 'example.com/Nope', value } };
    const codec = codecOf('containerd.services.events.v1.Envelope');
    const back = codec.decode(codec.encode(env).finish());
    expect(back.event).toEqual({ type_url: 'example.com/Nope', value });
    expect(packAny('containerd.events.TaskExit', { container_id: 'x' }).type_url).toBe('containerd.events.TaskExit');
  });

  it('decode enums as their names and give every field its default', () => {
    const codec = codecOf('containerd.v1.types.Process');
    const p = codec.decode(codec.encode(codec.fromPartial({ id: 'a', status: 'RUNNING' })).finish());
    expect(p).toEqual({
      container_id: '',
      id: 'a',
      pid: 0,
      status: 'RUNNING',
      stdin: '',
      stdout: '',
      stderr: '',
      terminal: false,
      exit_status: 0,
      exited_at: undefined,
    });
  });

  it('refuse to pack an object whose fields do not fit the message, naming the field', () => {
    expect(() => packAny('containerd.events.NamespaceCreate', { name: 42 as unknown as string })).toThrow(/name: string expected/);
    expect(() => packAny('containerd.events.NamespaceCreate', { labels: { a: 1 as unknown as string } })).toThrow(/labels\.a: string expected/);
    expect(() => packAny('io.containerd.cgroups.v1.Metrics', { memory: { usage: { usage: '-1' } } })).toThrow(/memory\.usage\.usage: uint64 expected/);
    expect(() => packAny('no.such.Type', {})).toThrow(/no message type no\.such\.Type/);
  });

  it("work with berth's client channel against berthd", async () => {
    const d = await startInProcess();
    const ch = new H2Channel(d.dirs.address);
    try {
      const version = service('containerd.services.version.v1.Version').methods.Version;
      const s = await ch.call(version.path);
      const replies: Array<{ version: string }> = [];
      s.onMessage = (b) => replies.push(version.decodeResponse(b));
      await s.write(version.encodeRequest({}));
      await s.end();
      expect(await s.status).toEqual({ code: 0, details: '' });
      expect(replies).toEqual([{ version: expect.stringMatching(/^berth-/), revision: expect.any(String) }]);

      const create = service('containerd.services.namespaces.v1.Namespaces').methods.Create;
      const c = await ch.call(create.path);
      let created: unknown;
      c.onMessage = (b) => (created = create.decodeResponse(b));
      await c.write(create.encodeRequest({ namespace: { name: 'api-test', labels: { k: 'v' } } }));
      await c.end();
      expect(await c.status).toEqual({ code: 0, details: '' });
      expect(created).toEqual({ namespace: { name: 'api-test', labels: { k: 'v' } } });
    } finally {
      ch.close();
      await d.stop();
    }
  });
});
