/**
 * berth's proto/ tree must stay wire-compatible with containerd API v1.
 *
 * 1. Every file under proto/ loads with @grpc/proto-loader (the daemon's loader options), every import
 *    resolves, and the services have the right streaming kinds.
 * 2. Every message, enum and service in every file is compared, by full name, with the upstream .proto
 *    files from Debian's golang-github-containerd-containerd-dev / golang-github-containerd-cgroups-dev,
 *    parsed here at test time. Any drift in a field number, name, type, label or map key fails the test.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { describeWith, met, requireFile } from '../helpers/requires';
import { LOADER_OPTIONS } from '../../src/api/reflect';

const PROTO_ROOT = path.resolve(__dirname, '../../proto');
const GOCODE = '/usr/share/gocode/src/github.com';

/** Our file (relative to proto/) → upstream file (relative to GOCODE). */
const UPSTREAM: Record<string, string> = {
  'containerd/types/descriptor.proto': 'containerd/containerd/api/types/descriptor.proto',
  'containerd/types/mount.proto': 'containerd/containerd/api/types/mount.proto',
  'containerd/types/platform.proto': 'containerd/containerd/api/types/platform.proto',
  'containerd/types/metrics.proto': 'containerd/containerd/api/types/metrics.proto',
  'containerd/types/task/task.proto': 'containerd/containerd/api/types/task/task.proto',
  'containerd/services/containers/v1/containers.proto': 'containerd/containerd/api/services/containers/v1/containers.proto',
  'containerd/services/content/v1/content.proto': 'containerd/containerd/api/services/content/v1/content.proto',
  'containerd/services/diff/v1/diff.proto': 'containerd/containerd/api/services/diff/v1/diff.proto',
  'containerd/services/events/v1/events.proto': 'containerd/containerd/api/services/events/v1/events.proto',
  'containerd/services/images/v1/images.proto': 'containerd/containerd/api/services/images/v1/images.proto',
  'containerd/services/introspection/v1/introspection.proto': 'containerd/containerd/api/services/introspection/v1/introspection.proto',
  'containerd/services/leases/v1/leases.proto': 'containerd/containerd/api/services/leases/v1/leases.proto',
  'containerd/services/namespaces/v1/namespace.proto': 'containerd/containerd/api/services/namespaces/v1/namespace.proto',
  'containerd/services/snapshots/v1/snapshots.proto': 'containerd/containerd/api/services/snapshots/v1/snapshots.proto',
  'containerd/services/tasks/v1/tasks.proto': 'containerd/containerd/api/services/tasks/v1/tasks.proto',
  'containerd/services/version/v1/version.proto': 'containerd/containerd/api/services/version/v1/version.proto',
  'containerd/events/container.proto': 'containerd/containerd/api/events/container.proto',
  'containerd/events/content.proto': 'containerd/containerd/api/events/content.proto',
  'containerd/events/image.proto': 'containerd/containerd/api/events/image.proto',
  'containerd/events/namespace.proto': 'containerd/containerd/api/events/namespace.proto',
  'containerd/events/snapshot.proto': 'containerd/containerd/api/events/snapshot.proto',
  'containerd/events/task.proto': 'containerd/containerd/api/events/task.proto',
  'containerd/runc/options.proto': 'containerd/containerd/runtime/v2/runc/options/oci.proto',
  'cgroups/v1/metrics.proto': 'containerd/cgroups/stats/v1/metrics.proto',
  'cgroups/v2/metrics.proto': 'containerd/cgroups/v2/stats/metrics.proto',
  'google/rpc/status.proto': 'gogo/googleapis/google/rpc/status.proto',
};

/** Files protobufjs / proto-loader provide themselves. */
const BUILTIN = new Set([
  'google/protobuf/any.proto',
  'google/protobuf/empty.proto',
  'google/protobuf/field_mask.proto',
  'google/protobuf/timestamp.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/descriptor.proto',
]);

function listProtoFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) out.push(...listProtoFiles(dir, r));
    else if (ent.name.endsWith('.proto')) out.push(r);
  }
  return out.sort();
}

/**
 * containerd 2.x's Transfer and Streaming API: Debian's package is containerd 1.6, which lacks
 * them; test/core/proto-transfer.test.ts checks these against what upstream 2.x declares.
 */
const CONTAINERD_2X_FILES = [
  'containerd/services/streaming/v1/streaming.proto',
  'containerd/services/transfer/v1/transfer.proto',
  'containerd/types/transfer/imagestore.proto',
  'containerd/types/transfer/importexport.proto',
  'containerd/types/transfer/progress.proto',
  'containerd/types/transfer/registry.proto',
  'containerd/types/transfer/streaming.proto',
];

/** Every file; berth's own API (proto/berth/) has no upstream to match, only to load cleanly. */
const ALL_FILES = listProtoFiles(PROTO_ROOT);
const OUR_FILES = ALL_FILES.filter((rel) => !rel.startsWith('berth/') && !CONTAINERD_2X_FILES.includes(rel));

/** Expected streaming kinds: [requestStream, responseStream]. Everything else is unary. */
const STREAMING: Record<string, [boolean, boolean]> = {
  'containerd.services.content.v1.Content.List': [false, true],
  'containerd.services.content.v1.Content.Read': [false, true],
  'containerd.services.content.v1.Content.Write': [true, true],
  'containerd.services.containers.v1.Containers.ListStream': [false, true],
  'containerd.services.events.v1.Events.Subscribe': [false, true],
  'containerd.services.snapshots.v1.Snapshots.List': [false, true],
  'berth.engine.v1.Engine.Logs': [false, true],
  'berth.engine.v1.Engine.Attach': [true, true],
  'berth.engine.v1.Engine.Exec': [true, true],
  'berth.engine.v1.Engine.Stats': [false, true],
  'berth.engine.v1.Engine.Events': [false, true],
  'containerd.services.streaming.v1.Streaming.Stream': [true, true],
  'berth.engine.v1.Engine.CopyFrom': [false, true],
  'berth.engine.v1.Engine.CopyTo': [true, false],
  'berth.engine.v1.Engine.Export': [false, true],
  'berth.engine.v1.Engine.ImportImage': [true, false],
};

describe('proto/: berth definitions load cleanly', () => {
  it('has the expected file set', () => {
    expect(OUR_FILES).toEqual(Object.keys(UPSTREAM).sort());
    for (const rel of CONTAINERD_2X_FILES) expect(ALL_FILES).toContain(rel);
  });

  it('uses proto3 and no gogoproto / fieldpath leftovers, and every import resolves', () => {
    for (const rel of ALL_FILES) {
      const text = fs.readFileSync(path.join(PROTO_ROOT, rel), 'utf8');
      expect({ rel, proto3: /^\s*syntax\s*=\s*"proto3"\s*;/m.test(text) }).toEqual({ rel, proto3: true });
      expect({ rel, leftovers: text.match(/gogoproto|fieldpath|containerd\.plugin|import\s+weak/g) }).toEqual({
        rel,
        leftovers: null,
      });
      const parsed = protobuf.parse(text, new protobuf.Root(), { keepCase: true });
      expect({ rel, weak: parsed.weakImports ?? [] }).toEqual({ rel, weak: [] });
      for (const imp of parsed.imports ?? []) {
        const ok = BUILTIN.has(imp) || fs.existsSync(path.join(PROTO_ROOT, imp));
        expect({ rel, imp, ok }).toEqual({ rel, imp, ok: true });
      }
    }
  });

  it('loads every file with @grpc/proto-loader without errors or warnings', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const emitted: unknown[] = [];
    const onWarning = (w: unknown) => emitted.push(w);
    process.on('warning', onWarning);
    try {
      const def = protoLoader.loadSync(ALL_FILES, LOADER_OPTIONS);
      expect(def['containerd.services.tasks.v1.Tasks']).toBeDefined();
      expect(def['io.containerd.cgroups.v1.Metrics']).toBeDefined();
      expect(warn).not.toHaveBeenCalled();
      expect(error).not.toHaveBeenCalled();
      expect(emitted).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      warn.mockRestore();
      error.mockRestore();
    }
  });

  it('defines the services with the right streaming kinds', () => {
    const def = protoLoader.loadSync(ALL_FILES, LOADER_OPTIONS);
    const services = Object.keys(def).filter((k) => {
      const v = def[k] as unknown as Record<string, unknown>;
      return v && typeof v === 'object' && !('format' in v);
    });
    expect(services.sort()).toEqual(
      [
        'berth.engine.v1.Engine',
        'containerd.services.containers.v1.Containers',
        'containerd.services.content.v1.Content',
        'containerd.services.diff.v1.Diff',
        'containerd.services.events.v1.Events',
        'containerd.services.images.v1.Images',
        'containerd.services.introspection.v1.Introspection',
        'containerd.services.leases.v1.Leases',
        'containerd.services.namespaces.v1.Namespaces',
        'containerd.services.snapshots.v1.Snapshots',
        'containerd.services.streaming.v1.Streaming',
        'containerd.services.tasks.v1.Tasks',
        'containerd.services.transfer.v1.Transfer',
        'containerd.services.version.v1.Version',
      ].sort(),
    );
    let methods = 0;
    for (const svc of services) {
      const sd = def[svc] as protoLoader.ServiceDefinition;
      for (const [name, m] of Object.entries(sd)) {
        methods++;
        const full = `${svc}.${name}`;
        expect(m.path).toBe(`/${svc}/${name}`);
        const want = STREAMING[full] ?? [false, false];
        expect({ full, kinds: [m.requestStream, m.responseStream] }).toEqual({ full, kinds: want });
      }
    }
    // Version 1 + Introspection 2 + Namespaces 5 + Containers 6 + Content 9 + Diff 2 + Events 3 +
    // Images 5 + Leases 6 + Snapshots 10 + Tasks 17 + Transfer 1 + Streaming 1; berth's Engine 47 (23 + 7 network + 16 volumes, files, update, prunes + ListTags).
    expect(methods).toBe(115);
  });
});

// ---------------------------------------------------------------------------------------------------
// Comparison against upstream

const UPSTREAM_PROTOS = requireFile(
  path.join(GOCODE, 'containerd/containerd/api'),
  'upstream containerd API protos',
  'golang-github-containerd-containerd-dev',
);
const describeUpstream = describeWith(UPSTREAM_PROTOS);

/** Drop gogoproto and fieldpath imports/options so that the upstream text stands alone. */
function stripUpstream(text: string): string {
  return text
    .replace(/^\s*import\s+(weak\s+)?"(gogoproto\/gogo\.proto|[^"]*protobuf\/plugin\/fieldpath\.proto)"\s*;/gm, '')
    .replace(/^\s*option\s+\((gogoproto|containerd\.plugin)\.[^)]*\)\s*=\s*[^;]*;/gm, '')
    .replace(/\[\s*\((gogoproto|containerd\.plugin)\.[^\]]*\]/g, '')
    .replace(/"github\.com\/containerd\/containerd\/api\/types\//g, '"containerd/types/');
}

type Desc = Record<string, unknown>;

function collect(ns: protobuf.NamespaceBase, out: Map<string, protobuf.ReflectionObject>): void {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type || obj instanceof protobuf.Enum || obj instanceof protobuf.Service) {
      out.set(obj.fullName.replace(/^\./, ''), obj);
    }
    if (obj instanceof protobuf.Namespace) collect(obj, out); // Type and Service extend Namespace
  }
}

/** Full names of the messages, enums and services a single file declares. */
function declaredNames(text: string): string[] {
  const root = new protobuf.Root();
  protobuf.parse(text, root, { keepCase: true });
  const out = new Map<string, protobuf.ReflectionObject>();
  collect(root, out);
  return [...out.keys()].sort();
}

function typeName(t: protobuf.Type | protobuf.Enum | null, raw: string): string {
  return t ? t.fullName.replace(/^\./, '') : raw;
}

/** A wire-relevant description of a message, enum or service. */
function describeObj(obj: protobuf.ReflectionObject): Desc {
  if (obj instanceof protobuf.Type) {
    const fields = obj.fieldsArray
      .slice()
      .sort((a, b) => a.id - b.id)
      .map((f) => ({
        id: f.id,
        name: f.name,
        rule: f.repeated ? 'repeated' : 'singular',
        map: f.map,
        keyType: f instanceof protobuf.MapField ? f.keyType : undefined,
        type: typeName(f.resolvedType, f.type),
        packed: f.repeated ? f.packed : undefined,
        oneof: f.partOf ? f.partOf.name : undefined,
      }));
    return { kind: 'message', fields, reserved: obj.reserved ?? null };
  }
  if (obj instanceof protobuf.Enum) {
    return { kind: 'enum', values: { ...obj.values } };
  }
  if (obj instanceof protobuf.Service) {
    const methods = obj.methodsArray
      .slice()
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((m) => ({
        name: m.name,
        request: typeName(m.resolvedRequestType, m.requestType),
        response: typeName(m.resolvedResponseType, m.responseType),
        requestStream: !!m.requestStream,
        responseStream: !!m.responseStream,
      }));
    return { kind: 'service', methods };
  }
  throw new Error(`unexpected reflection object ${obj.fullName}`);
}

function newRootWithBuiltins(): protobuf.Root {
  const root = new protobuf.Root();
  const common = protobuf.common as unknown as Record<string, { nested?: Record<string, unknown> }>;
  for (const f of ['any', 'empty', 'field_mask', 'timestamp']) {
    const json = common[`google/protobuf/${f}.proto`];
    if (!json || !json.nested) throw new Error(`protobufjs lacks google/protobuf/${f}.proto`);
    root.addJSON(json.nested as Record<string, protobuf.AnyNestedObject>);
  }
  return root;
}

describeUpstream(
  met(UPSTREAM_PROTOS)
    ? 'proto/: identical on the wire to upstream containerd API v1 and cgroups stats'
    : 'proto/ vs upstream: SKIPPED, /usr/share/gocode absent (install golang-github-containerd-containerd-dev and golang-github-containerd-cgroups-dev)',
  () => {
    const ours = newRootWithBuiltins();
    const theirs = newRootWithBuiltins();
    const ourText: Record<string, string> = {};
    const theirText: Record<string, string> = {};
    const present = OUR_FILES.filter((rel) => UPSTREAM[rel] && fs.existsSync(path.join(GOCODE, UPSTREAM[rel])));

    beforeAll(() => {
      for (const rel of OUR_FILES) {
        ourText[rel] = fs.readFileSync(path.join(PROTO_ROOT, rel), 'utf8');
        protobuf.parse(ourText[rel], ours, { keepCase: true });
      }
      for (const rel of present) {
        theirText[rel] = stripUpstream(fs.readFileSync(path.join(GOCODE, UPSTREAM[rel]), 'utf8'));
        protobuf.parse(theirText[rel], theirs, { keepCase: true });
      }
      ours.resolveAll();
      theirs.resolveAll();
    });

    it('finds the upstream files (all but possibly google/rpc/status.proto)', () => {
      const missing = OUR_FILES.filter((rel) => !present.includes(rel));
      expect(missing.filter((rel) => rel !== 'google/rpc/status.proto')).toEqual([]);
    });

    it.each(OUR_FILES.map((rel) => [rel]))('%s declares the same package and names as upstream', (rel) => {
      if (!present.includes(rel)) return; // only google/rpc/status.proto can get here
      const pkg = (t: string) => (t.match(/^\s*package\s+([\w.]+)\s*;/m) ?? [])[1];
      expect(pkg(ourText[rel])).toBe(pkg(theirText[rel]));
      expect(declaredNames(ourText[rel])).toEqual(declaredNames(theirText[rel]));
    });

    it.each(OUR_FILES.map((rel) => [rel]))('%s: every message, enum and service matches upstream', (rel) => {
      if (!present.includes(rel)) return;
      const names = declaredNames(theirText[rel]);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) {
        const a = ours.lookup(name);
        const b = theirs.lookup(name);
        expect({ name, found: !!a }).toEqual({ name, found: true });
        expect({ name, ...describeObj(a as protobuf.ReflectionObject) }).toEqual({
          name,
          ...describeObj(b as protobuf.ReflectionObject),
        });
      }
    });

    it.each([
      'containerd.services.content.v1.WriteContentRequest',
      'containerd.services.tasks.v1.CreateTaskRequest',
      'containerd.v1.types.Process',
      'containerd.services.containers.v1.Container',
      'containerd.services.events.v1.Envelope',
      'io.containerd.cgroups.v1.Metrics',
      'io.containerd.cgroups.v1.MemoryStat',
      'io.containerd.cgroups.v1.CPUUsage',
      'containerd.services.snapshots.v1.Info',
      'containerd.services.images.v1.Image',
      'containerd.services.leases.v1.Lease',
      'containerd.services.introspection.v1.Plugin',
    ])('sample %s: field numbers and types equal upstream', (name) => {
      const a = ours.lookupType(name);
      const b = theirs.lookupType(name);
      expect(a.fieldsArray.length).toBeGreaterThan(0);
      expect(describeObj(a)).toEqual(describeObj(b));
    });

    it('covers the whole upstream API (no message, enum or service left out)', () => {
      const a = new Map<string, protobuf.ReflectionObject>();
      const b = new Map<string, protobuf.ReflectionObject>();
      collect(ours, a);
      collect(theirs, b);
      expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
      expect(b.size).toBeGreaterThan(150);
    });

    it('bytes written with our definitions decode identically with upstream ones', () => {
      const samples: Array<[string, Record<string, unknown>]> = [
        [
          'containerd.services.content.v1.WriteContentRequest',
          {
            action: 'COMMIT',
            ref: 'layer-sha256:ab',
            total: '1048576',
            expected: 'sha256:ab',
            offset: '1048576',
            data: Buffer.from('xyz'),
            labels: { 'containerd.io/gc.root': 'x' },
          },
        ],
        [
          'io.containerd.cgroups.v1.Metrics',
          {
            pids: { current: '3', limit: '0' },
            cpu: { usage: { total: '9223372036854775807', kernel: '1', user: '2', per_cpu: ['5', '6'] } },
            memory: { total_cache: '18', usage: { limit: '9223372036854771712', usage: '4096' } },
          },
        ],
        [
          'containerd.services.tasks.v1.CreateTaskRequest',
          {
            container_id: 'c1',
            rootfs: [{ type: 'overlay', source: 'overlay', options: ['lowerdir=/a'] }],
            stdin: '/fifo/in',
            terminal: true,
            checkpoint: { digest: 'sha256:cd', size: '7', annotations: { a: 'b' } },
            options: { type_url: 'containerd.runc.v1.Options', value: Buffer.from([0x08, 0x01]) },
            runtime_path: '/x',
          },
        ],
        [
          'containerd.v1.types.Process',
          { container_id: 'c', id: 'e', pid: 42, status: 'STOPPED', exit_status: 137, exited_at: { seconds: '-62135596800', nanos: 0 } },
        ],
      ];
      const conv: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String };
      for (const [name, obj] of samples) {
        const a = ours.lookupType(name);
        const b = theirs.lookupType(name);
        const bytes = a.encode(a.fromObject(obj)).finish();
        const viaOurs = a.toObject(a.decode(bytes), conv);
        const viaTheirs = b.toObject(b.decode(bytes), conv);
        expect(viaTheirs).toEqual(viaOurs);
        expect(Buffer.from(b.encode(b.fromObject(viaTheirs)).finish())).toEqual(Buffer.from(bytes));
      }
    });
  },
);
