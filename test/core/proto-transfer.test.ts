/**
 * containerd 2.x's Transfer and Streaming API in proto/, field by field against upstream.
 * Debian's golang-github-containerd-containerd-dev is containerd 1.6 and has none of these files,
 * so the upstream declarations are transcribed below from containerd/containerd (main at commit
 * 301026e58, the same in 2.0–2.2 for everything listed): api/services/transfer/v1/transfer.proto,
 * api/services/streaming/v1/streaming.proto and api/types/transfer/{registry,imagestore,
 * importexport,progress,streaming}.proto. Any drift in a number, name, type, label or enum value
 * fails, and so does a message or enum berth adds or leaves out.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { ImageStore } from '../../src/api/gen/containerd/types/transfer/imagestore';
import { AuthResponse } from '../../src/api/gen/containerd/types/transfer/registry';

const PROTO_ROOT = path.resolve(__dirname, '../../proto');
const FILES = [
  'containerd/services/streaming/v1/streaming.proto',
  'containerd/services/transfer/v1/transfer.proto',
  'containerd/types/transfer/imagestore.proto',
  'containerd/types/transfer/importexport.proto',
  'containerd/types/transfer/progress.proto',
  'containerd/types/transfer/registry.proto',
  'containerd/types/transfer/streaming.proto',
];

/** `[number, name, type, label]`; label '' (singular), 'repeated' or 'map<string>'. */
type Field = [number, string, string, string];

const MESSAGES: Record<string, Field[]> = {
  'containerd.services.transfer.v1.TransferRequest': [
    [1, 'source', 'google.protobuf.Any', ''],
    [2, 'destination', 'google.protobuf.Any', ''],
    [3, 'options', 'containerd.services.transfer.v1.TransferOptions', ''],
  ],
  'containerd.services.transfer.v1.TransferOptions': [[1, 'progress_stream', 'string', '']],
  'containerd.services.streaming.v1.StreamInit': [[1, 'id', 'string', '']],
  'containerd.types.transfer.OCIRegistry': [
    [1, 'reference', 'string', ''],
    [2, 'resolver', 'containerd.types.transfer.RegistryResolver', ''],
  ],
  'containerd.types.transfer.RegistryResolver': [
    [1, 'auth_stream', 'string', ''],
    [2, 'headers', 'string', 'map<string>'],
    [3, 'host_dir', 'string', ''],
    [4, 'default_scheme', 'string', ''],
    [5, 'http_debug', 'containerd.types.transfer.HTTPDebug', ''],
    [6, 'logs_stream', 'string', ''],
  ],
  'containerd.types.transfer.AuthRequest': [
    [1, 'host', 'string', ''],
    [2, 'reference', 'string', ''],
    [3, 'wwwauthenticate', 'string', 'repeated'],
  ],
  'containerd.types.transfer.AuthResponse': [
    [1, 'authType', 'containerd.types.transfer.AuthType', ''],
    [2, 'secret', 'string', ''],
    [3, 'username', 'string', ''],
    [4, 'expire_at', 'google.protobuf.Timestamp', ''],
  ],
  'containerd.types.transfer.ImageStore': [
    [1, 'name', 'string', ''],
    [2, 'labels', 'string', 'map<string>'],
    [3, 'platforms', 'containerd.types.Platform', 'repeated'],
    [4, 'all_metadata', 'bool', ''],
    [5, 'manifest_limit', 'uint32', ''],
    [6, 'extra_references', 'containerd.types.transfer.ImageReference', 'repeated'],
    [10, 'unpacks', 'containerd.types.transfer.UnpackConfiguration', 'repeated'],
  ],
  'containerd.types.transfer.UnpackConfiguration': [
    [1, 'platform', 'containerd.types.Platform', ''],
    [2, 'snapshotter', 'string', ''],
  ],
  'containerd.types.transfer.ImageReference': [
    [1, 'name', 'string', ''],
    [2, 'is_prefix', 'bool', ''],
    [3, 'allow_overwrite', 'bool', ''],
    [4, 'add_digest', 'bool', ''],
    [5, 'skip_named_digest', 'bool', ''],
  ],
  'containerd.types.transfer.ImageImportStream': [
    [1, 'stream', 'string', ''],
    [2, 'media_type', 'string', ''],
    [3, 'force_compress', 'bool', ''],
  ],
  'containerd.types.transfer.ImageExportStream': [
    [1, 'stream', 'string', ''],
    [2, 'media_type', 'string', ''],
    [3, 'platforms', 'containerd.types.Platform', 'repeated'],
    [4, 'all_platforms', 'bool', ''],
    [5, 'skip_compatibility_manifest', 'bool', ''],
    [6, 'skip_non_distributable', 'bool', ''],
  ],
  'containerd.types.transfer.Progress': [
    [1, 'event', 'string', ''],
    [2, 'name', 'string', ''],
    [3, 'parents', 'string', 'repeated'],
    [4, 'progress', 'int64', ''],
    [5, 'total', 'int64', ''],
    [6, 'desc', 'containerd.types.Descriptor', ''],
  ],
  'containerd.types.transfer.Data': [[1, 'data', 'bytes', '']],
  'containerd.types.transfer.WindowUpdate': [[1, 'update', 'int32', '']],
  'containerd.types.transfer.ReadStream': [
    [1, 'stream', 'string', ''],
    [2, 'media_type', 'string', ''],
  ],
  'containerd.types.transfer.WriteStream': [
    [1, 'stream', 'string', ''],
    [2, 'media_type', 'string', ''],
  ],
};

const ENUMS: Record<string, Record<string, number>> = {
  'containerd.types.transfer.HTTPDebug': { DISABLED: 0, DEBUG: 1, TRACE: 2, BOTH: 3 },
  'containerd.types.transfer.AuthType': { NONE: 0, CREDENTIALS: 1, REFRESH: 2, HEADER: 3 },
};

const SERVICES: Record<string, Array<[string, string, string, boolean, boolean]>> = {
  'containerd.services.transfer.v1.Transfer': [['Transfer', 'containerd.services.transfer.v1.TransferRequest', 'google.protobuf.Empty', false, false]],
  'containerd.services.streaming.v1.Streaming': [['Stream', 'google.protobuf.Any', 'google.protobuf.Any', true, true]],
};

function load(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') || path.isAbsolute(target) ? target : path.join(PROTO_ROOT, target));
  root.loadSync(
    FILES.map((f) => path.join(PROTO_ROOT, f)),
    { keepCase: true },
  );
  root.resolveAll();
  return root;
}

function declared(ns: protobuf.NamespaceBase, out: string[] = []): string[] {
  for (const o of ns.nestedArray) {
    if (o instanceof protobuf.Type || o instanceof protobuf.Enum || o instanceof protobuf.Service) out.push(o.fullName.slice(1));
    if (o instanceof protobuf.Namespace) declared(o, out);
  }
  return out;
}

describe('proto/: containerd 2.x Transfer and Streaming, as upstream declares them', () => {
  const root = load();
  const ours = new Set(
    FILES.flatMap((f) => declared(protobuf.parse(fs.readFileSync(path.join(PROTO_ROOT, f), 'utf8'), new protobuf.Root(), { keepCase: true }).root)),
  );

  it('the files declare exactly the upstream messages, enums and services', () => {
    expect([...ours].sort()).toEqual([...Object.keys(MESSAGES), ...Object.keys(ENUMS), ...Object.keys(SERVICES)].sort());
  });

  it('every file keeps upstream package', () => {
    for (const f of FILES) {
      const pkg = /^\s*package\s+([\w.]+)\s*;/m.exec(fs.readFileSync(path.join(PROTO_ROOT, f), 'utf8'))?.[1];
      expect({ f, pkg }).toEqual({
        f,
        pkg: f.startsWith('containerd/types/transfer/') ? 'containerd.types.transfer' : f.replace(/\/[^/]+\.proto$/, '').replace(/\//g, '.'),
      });
    }
  });

  it.each(Object.keys(MESSAGES))('%s: field numbers, names, types and labels', (name) => {
    const t = root.lookupType(name);
    const got: Field[] = t.fieldsArray
      .slice()
      .sort((a, b) => a.id - b.id)
      .map((f) => [
        f.id,
        f.name,
        f.resolvedType ? f.resolvedType.fullName.slice(1) : f.type,
        f instanceof protobuf.MapField ? `map<${f.keyType}>` : f.repeated ? 'repeated' : '',
      ]);
    expect(got).toEqual(MESSAGES[name]);
  });

  it.each(Object.keys(ENUMS))('%s: values', (name) => {
    expect({ ...root.lookupEnum(name).values }).toEqual(ENUMS[name]);
  });

  it.each(Object.keys(SERVICES))('%s: methods and streaming kinds', (name) => {
    const s = root.lookupService(name);
    const got = s.methodsArray.map((m) => [
      m.name,
      m.resolvedRequestType!.fullName.slice(1),
      m.resolvedResponseType!.fullName.slice(1),
      !!m.requestStream,
      !!m.responseStream,
    ]);
    expect(got).toEqual(SERVICES[name]);
  });

  it('bytes as containerd 2.x writes them decode with the generated codecs (AuthResponse, ImageStore)', () => {
    // AuthResponse{authType: HEADER, secret: "Bearer x", username: "u"}; ImageStore{name: "n", unpacks: [{snapshotter: "overlayfs"}]}:
    // tags hand-encoded from the numbers above (field 10 of ImageStore is tag 0x52).
    const auth = Buffer.from([0x08, 0x03, 0x12, 0x08, ...Buffer.from('Bearer x'), 0x1a, 0x01, 0x75]);
    expect(AuthResponse.decode(auth)).toMatchObject({ authType: 'HEADER', secret: 'Bearer x', username: 'u' });
    const store = Buffer.from([0x0a, 0x01, 0x6e, 0x52, 0x0b, 0x12, 0x09, ...Buffer.from('overlayfs')]);
    expect(ImageStore.decode(store)).toMatchObject({ name: 'n', unpacks: [{ snapshotter: 'overlayfs' }] });
  });
});
