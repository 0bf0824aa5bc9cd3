/**
 * Hostile input against EVERY service and method in proto/ (ServiceRegistry.allServiceNames()), on the
 * real berthd binary. Requests are generated from the protobuf request types, so services other slices
 * land are covered automatically. For every call the status must be OK or one of the "the request was
 * bad" codes: never UNKNOWN/INTERNAL, never a hang (each call has a deadline), never a crash (the daemon
 * must still answer Version at the end). Then, for implemented methods, the obvious cases must get
 * their specific codes.
 */
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { ServiceRegistry } from '../../src/services/grpc/registry';
import { protos, serviceClient } from '../../src/api/reflect';
import { startProcess, rawClient, call, nsMetadata } from '../helpers/daemon';

const S = grpc.status;
const ACCEPTABLE = new Set([S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.FAILED_PRECONDITION, S.ALREADY_EXISTS, S.UNIMPLEMENTED, S.RESOURCE_EXHAUSTED]);
/** Server streams that legitimately stay open on a valid request: a deadline is their success. */
const NEVER_ENDING = new Set(['containerd.services.events.v1.Events/Subscribe', 'berth.engine.v1.Engine/Events']);
const CALL_DEADLINE_MS = 15000;
const OPEN_STREAM_DEADLINE_MS = 300;

const HOSTILE_STRINGS: Record<string, string> = {
  'bad digest': 'sha256:xyz',
  'md5 digest': 'md5:d41d8cd98f00b204e9800998ecf8427e',
  '10 KB string': 'x'.repeat(10 * 1024),
  'dot-dot path': '../../x',
  'absolute path': '/etc/passwd',
  'embedded dot-dot': 'a/../../b',
  'NUL byte': 'a\u0000b',
  'valid-looking id': 'berth-bad-input',
};

type Req = Record<string, unknown>;

/** A request with every string field set to `s`, recursively (maps get `{s: s}`, repeated `[s]`). */
function fill(type: protobuf.Type, s: string, depth = 0, seen = new Set<string>()): Req {
  const out: Req = {};
  if (depth > 3 || seen.has(type.fullName)) return out;
  const seen2 = new Set(seen).add(type.fullName);
  for (const f of type.fieldsArray) {
    f.resolve();
    let v: unknown;
    if (f.resolvedType && (f.resolvedType as protobuf.Type).fieldsArray) {
      const t = f.resolvedType as protobuf.Type;
      if (t.fullName === '.google.protobuf.FieldMask') v = { paths: ['labels.' + s] };
      else if (t.fullName === '.google.protobuf.Timestamp') v = { seconds: '0', nanos: 0 };
      else v = fill(t, s, depth + 1, seen2);
    } else if (f.type === 'string') v = s;
    else if (f.type === 'bytes') v = Buffer.from(s);
    else continue; // numbers, bools and enums keep their defaults
    if (f.map) out[f.name] = (f as unknown as protobuf.MapField).keyType === 'string' && f.type === 'string' ? { [s]: s } : {};
    else out[f.name] = f.repeated ? [v] : v;
  }
  return out;
}

/** Sets every FieldMask-typed top-level field (bad masks). */
function withMask(type: protobuf.Type, base: Req, paths: string[]): Req | undefined {
  const f = type.fieldsArray.find((x) => (x.resolve(), (x.resolvedType as protobuf.Type | null)?.fullName === '.google.protobuf.FieldMask'));
  return f ? { ...base, [f.name]: { paths } } : undefined;
}

interface Outcome {
  code: number;
  details: string;
}

function invoke(client: grpc.Client, path: string, m: protobuf.Method, method: string, req: Req, md: grpc.Metadata): Promise<Outcome> {
  const never = NEVER_ENDING.has(path);
  const deadline = Date.now() + (never ? OPEN_STREAM_DEADLINE_MS : CALL_DEADLINE_MS);
  const fn = (client as any)[method].bind(client);
  return new Promise((resolve) => {
    const done = (e: grpc.ServiceError | null) => resolve(e ? { code: e.code, details: e.details } : { code: S.OK, details: '' });
    if (!m.requestStream && !m.responseStream) {
      fn(req, md, { deadline }, (e: grpc.ServiceError | null) => done(e));
      return;
    }
    let stream: any;
    if (m.requestStream && !m.responseStream) {
      stream = fn(md, { deadline }, (e: grpc.ServiceError | null) => done(e));
      stream.write(req);
      stream.end();
      return;
    }
    stream = m.requestStream ? fn(md, { deadline }) : fn(req, md, { deadline });
    if (m.requestStream) {
      stream.write(req);
      stream.end();
    }
    stream.on('data', () => undefined);
    stream.on('error', (e: grpc.ServiceError) => done(e));
    stream.on('end', () => undefined);
    stream.on('status', (st: grpc.StatusObject) => {
      if (st.code === S.OK) done(null);
    });
  });
}

function md(ns: string | null): grpc.Metadata {
  const m = new grpc.Metadata();
  if (ns !== null) m.set('containerd-namespace', ns);
  return m;
}

describe('bad input against every RPC', () => {
  let d: Awaited<ReturnType<typeof startProcess>>;
  const clients = new Map<string, grpc.Client>();
  const client = (svc: string) => {
    let c = clients.get(svc);
    if (!c) clients.set(svc, (c = rawClient(d.dirs.address, svc)));
    return c;
  };

  beforeAll(async () => {
    d = await startProcess();
  });
  afterAll(async () => {
    for (const c of clients.values()) c.close();
    await d?.stop();
  });

  const services = ServiceRegistry.allServiceNames();
  const root = protos().root;
  const implemented = new Map<string, boolean>();

  it('every method answers hostile requests with an acceptable code, promptly, without crashing the daemon', async () => {
    const violations: string[] = [];
    let calls = 0;
    for (const svc of services) {
      const service = root.lookupService(svc);
      for (const m of service.methodsArray) {
        m.resolve();
        const type = m.resolvedRequestType!;
        const path = `${svc}/${m.name}`;
        const cases: Array<[string, Req, grpc.Metadata]> = [
          ['empty request', {}, md('default')],
          ['empty request, no namespace header', {}, md(null)],
          ['empty request, invalid namespace header', {}, md('../x')],
          ['valid-looking ids, unknown namespace', fill(type, 'berth-bad-input'), md('no-such-namespace')],
        ];
        for (const [name, s] of Object.entries(HOSTILE_STRINGS)) cases.push([name, fill(type, s), md('default')]);
        for (const mask of [['nope'], ['labels.']]) {
          const r = withMask(type, fill(type, 'berth-bad-input'), mask);
          if (r) cases.push([`field mask ${JSON.stringify(mask)}`, r, md('default')]);
        }
        for (const [name, req, meta] of cases) {
          const o = await invoke(client(svc), path, m, m.name, req, meta);
          calls++;
          if (name === 'empty request') implemented.set(path, o.code !== S.UNIMPLEMENTED);
          const hang = o.code === S.DEADLINE_EXCEEDED && !NEVER_ENDING.has(path);
          if (hang || (!ACCEPTABLE.has(o.code) && !(o.code === S.DEADLINE_EXCEEDED && NEVER_ENDING.has(path)))) {
            violations.push(`${path} [${name}] → ${S[o.code]}: ${o.details.slice(0, 200)}`);
          }
          if (name.includes('invalid namespace header') && o.code !== S.INVALID_ARGUMENT && o.code !== S.UNIMPLEMENTED) {
            violations.push(`${path} [${name}] → ${S[o.code]} (want INVALID_ARGUMENT): ${o.details.slice(0, 200)}`);
          }
        }
      }
    }
    const impl = [...implemented.values()].filter(Boolean).length;
    console.log(`bad-input: ${calls} hostile calls over ${implemented.size} methods (${impl} implemented), ${violations.length} violations`);
    if (violations.length) console.log(`bad-input violations (${violations.length} of ${calls} calls):\n` + violations.join('\n'));
    expect(violations).toEqual([]);
    const v = rawClient(d.dirs.address, 'containerd.services.version.v1.Version');
    expect((await call(v, 'Version', {})).version).toMatch(/^berth-/);
    v.close();
    expect(d.proc.child!.exitCode).toBeNull();
  });

  it('an oversized message (> 16 MiB) gets RESOURCE_EXHAUSTED and the daemon keeps serving', async () => {
    const big = 'x'.repeat(17 << 20);
    const violations: string[] = [];
    for (const svc of services) {
      const service = root.lookupService(svc);
      const m = service.methodsArray.find((x) => (x.resolve(), !x.requestStream && x.resolvedRequestType!.fieldsArray.some((f) => f.type === 'string')));
      if (!m) continue;
      const f = m.resolvedRequestType!.fieldsArray.find((x) => x.type === 'string')!;
      const Ctor = serviceClient(svc);
      const c = new Ctor(`unix://${d.dirs.address}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
      try {
        const o = await invoke(c, `${svc}/${m.name}`, m, m.name, { [f.name]: f.repeated ? [big] : big }, nsMetadata());
        if (o.code !== S.RESOURCE_EXHAUSTED) violations.push(`${svc}/${m.name} → ${S[o.code]}: ${o.details.slice(0, 200)}`);
      } finally {
        c.close();
      }
    }
    expect(violations).toEqual([]);
    const v = rawClient(d.dirs.address, 'containerd.services.version.v1.Version');
    expect((await call(v, 'Version', {})).version).toMatch(/^berth-/);
    v.close();
  });

  /** [service, method, request, namespace (null = no header), acceptable codes]. Skipped while UNIMPLEMENTED. */
  const MISSING = 'sha256:' + '0'.repeat(64);
  const SPECIFIC: Array<[string, string, Req, string | null, number[]]> = [
    ['content', 'Info', { digest: 'sha256:xyz' }, 'default', [S.INVALID_ARGUMENT]],
    ['content', 'Info', { digest: 'md5:d41d8cd98f00b204e9800998ecf8427e' }, 'default', [S.INVALID_ARGUMENT]],
    ['content', 'Info', { digest: MISSING }, 'default', [S.NOT_FOUND]],
    ['content', 'Info', { digest: MISSING }, null, [S.FAILED_PRECONDITION]],
    ['content', 'Delete', { digest: 'sha256:xyz' }, 'default', [S.INVALID_ARGUMENT]],
    ['content', 'Delete', { digest: MISSING }, 'default', [S.NOT_FOUND]],
    ['content', 'Read', { digest: 'sha256:xyz' }, 'default', [S.INVALID_ARGUMENT]],
    ['content', 'Read', { digest: MISSING }, 'default', [S.NOT_FOUND]],
    ['content', 'Update', { info: { digest: MISSING }, update_mask: { paths: ['nope'] } }, 'default', [S.INVALID_ARGUMENT, S.NOT_FOUND]],
    ['content', 'Abort', { ref: 'no-such-ref' }, 'default', [S.NOT_FOUND]],
    ['content', 'ListStatuses', { filters: ['ref=='] }, 'default', [S.INVALID_ARGUMENT]],
    ['images', 'Get', { name: 'docker.io/library/missing:1' }, 'default', [S.NOT_FOUND]],
    ['images', 'Get', { name: 'x' }, null, [S.FAILED_PRECONDITION]],
    ['images', 'List', {}, null, [S.FAILED_PRECONDITION]],
    ['images', 'Create', { image: { name: '', target: { media_type: 'x', digest: MISSING, size: '1' } } }, 'default', [S.INVALID_ARGUMENT]],
    ['images', 'Create', { image: { name: 'ok:1', target: { media_type: 'x', digest: 'sha256:xyz', size: '1' } } }, 'default', [S.INVALID_ARGUMENT]],
    ['images', 'Delete', { name: 'docker.io/library/missing:1' }, 'default', [S.NOT_FOUND]],
    ['images', 'List', { filters: ['name~=('] }, 'default', [S.INVALID_ARGUMENT]],
    ['namespaces', 'Create', { namespace: { name: '../x' } }, 'default', [S.INVALID_ARGUMENT]],
    ['namespaces', 'Create', { namespace: { name: 'a\u0000b' } }, 'default', [S.INVALID_ARGUMENT]],
    ['namespaces', 'Get', { name: 'never-created-namespace' }, 'default', [S.NOT_FOUND]],
    ['namespaces', 'Delete', { name: 'never-created-namespace' }, 'default', [S.NOT_FOUND]],
    ['containers', 'Create', { container: { id: '../../x', runtime: { name: 'io.containerd.runc.v2' } } }, 'default', [S.INVALID_ARGUMENT]],
    ['containers', 'Get', { id: 'no-such-container' }, 'default', [S.NOT_FOUND]],
    ['containers', 'Get', { id: 'x' }, null, [S.FAILED_PRECONDITION]],
    ['leases', 'Create', { id: '../../x' }, 'default', [S.INVALID_ARGUMENT]],
    ['leases', 'Delete', { id: 'no-such-lease' }, 'default', [S.NOT_FOUND]],
    ['leases', 'List', {}, null, [S.FAILED_PRECONDITION]],
    ['snapshots', 'Stat', { snapshotter: 'overlayfs', key: 'no-such-key' }, 'default', [S.NOT_FOUND]],
    ['snapshots', 'Stat', { snapshotter: '../../x', key: 'k' }, 'default', [S.INVALID_ARGUMENT, S.NOT_FOUND]],
    ['tasks', 'Get', { container_id: 'no-such-container' }, 'default', [S.NOT_FOUND]],
    ['tasks', 'Start', { container_id: '../../x' }, 'default', [S.NOT_FOUND, S.INVALID_ARGUMENT]],
    ['events', 'Publish', { topic: '/a', event: { type_url: 'x', value: Buffer.alloc(0) } }, null, [S.FAILED_PRECONDITION]],
    ['events', 'Publish', { topic: '../x', event: { type_url: 'x', value: Buffer.alloc(0) } }, 'default', [S.INVALID_ARGUMENT]],
    ['events', 'Subscribe', { filters: ['topic~=('] }, 'default', [S.INVALID_ARGUMENT]],
    ['introspection', 'Plugins', { filters: ['id=='] }, 'default', [S.INVALID_ARGUMENT]],
  ];

  const fullName = (short: string) => services.find((n) => n.split('.')[2] === short)!;

  it.each(SPECIFIC.map((c) => [`${c[0]}/${c[1]} ${JSON.stringify(c[2]).slice(0, 100)} ns=${c[3]}`, c] as const))(
    '%s',
    async (_name, [short, method, req, ns, want]) => {
      const svc = fullName(short);
      const m = root.lookupService(svc).methods[method]!;
      m.resolve();
      const o = await invoke(client(svc), `${svc}/${method}`, m, method, req, md(ns));
      if (o.code === S.UNIMPLEMENTED) return; // not landed yet: covered by the generic pass only
      expect({ code: S[o.code], details: o.details }).toMatchObject({ code: expect.stringMatching(new RegExp(`^(${want.map((c) => S[c]).join('|')})$`)) });
    },
  );
});
