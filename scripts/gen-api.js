#!/usr/bin/env node
/**
 * Generates berth's wire types and descriptors from proto/ into src/api/gen/ (not committed:
 * `npm run build`, `npm run typecheck` and the tests' global setup run this first).
 *
 * - ts-proto (a protoc plugin, run by buf, which compiles the .proto files itself: no protoc)
 *   writes one .ts file per .proto: an interface per message with the proto's field names, a
 *   `{encode, decode, fromPartial}` object per message, string enums and one
 *   `<Service>Definition` per service. The options give the objects @grpc/proto-loader gave with
 *   keepCase, longs: String, enums: String, defaults (ctr-interop.md §1.2): 64-bit integers are
 *   decimal strings (cgroup counters exceed 2^53), Any is `{type_url, value}` kept verbatim.
 * - From buf's descriptor set, this script writes index.ts: every service (full name → lazy
 *   definition) and every message (full name → lazy codec), which Any packing looks types up in;
 *   and fields.ts, each message's field kinds, against which Any packing checks its input.
 *
 * Skips all of it when neither proto/ nor the generator changed since the last run (.stamp).
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const PROTO = join(ROOT, 'proto');
const OUT = join(ROOT, 'src', 'api', 'gen');
const BIN = join(ROOT, 'node_modules', '.bin');

const TS_PROTO_OPTIONS = [
  'snakeToCamel=false', // field names as in the proto (proto-loader's keepCase)
  'forceLong=string', // int64/uint64 as decimal strings, exact
  'stringEnums=true', // enum values by name, as ctr-interop.md's enums: String
  'enumsAsLiterals=true', // ... typed as unions of string literals ('RUNNING'), as proto-loader's objects hold them
  'useDate=false', // Timestamp stays {seconds, nanos}: containerd's zero time is year 0001
  'env=node', // bytes are Buffers
  'useOptionals=none', // decoded messages have every field (proto-loader's defaults)
  'outputServices=generic-definitions', // typed method descriptors, no client/server library
  'outputJsonMethods=false', // nobody speaks protobuf JSON; also keeps Any away from JSON rewriting
  'outputPartialMethods=true', // fromPartial: Any payloads and events may leave fields unset
  'useExactTypes=false',
  'exportCommonSymbols=false',
  'esModuleInterop=true',
];

function protoFiles(dir = PROTO) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...protoFiles(p));
    else if (name.endsWith('.proto')) out.push(p);
  }
  return out;
}

function stamp() {
  const h = createHash('sha256');
  h.update(readFileSync(__filename));
  h.update(require(join(ROOT, 'node_modules', 'ts-proto', 'package.json')).version);
  for (const f of protoFiles()) h.update(relative(PROTO, f)).update(readFileSync(f));
  return h.digest('hex');
}

function buf(args, opts = {}) {
  return execFileSync(join(BIN, 'buf'), args, { cwd: ROOT, maxBuffer: 64 << 20, ...opts });
}

/** ts-proto's name for a (nested) message: the path of names joined by `_`. */
const tsName = (path) => path.join('_');

/** Every service and message of one file of buf's FileDescriptorSet (JSON). */
function collect(file) {
  const module = './' + file.name.replace(/\.proto$/, '');
  const services = (file.service ?? []).map((s) => ({ fullName: `${file.package}.${s.name}`, module, name: `${s.name}Definition` }));
  const messages = [];
  const walk = (types, path) => {
    for (const m of types ?? []) {
      if (m.options?.mapEntry) continue;
      const p = [...path, m.name];
      messages.push({ fullName: `${file.package}.${p.join('.')}`, module, name: tsName(p) });
      walk(m.nestedType, p);
    }
  };
  walk(file.messageType, []);
  return { services, messages };
}

const SCALARS = {
  TYPE_STRING: 'string',
  TYPE_BYTES: 'bytes',
  TYPE_BOOL: 'bool',
  TYPE_DOUBLE: 'float',
  TYPE_FLOAT: 'float',
  TYPE_INT32: 'int32',
  TYPE_SINT32: 'int32',
  TYPE_SFIXED32: 'int32',
  TYPE_UINT32: 'uint32',
  TYPE_FIXED32: 'uint32',
  TYPE_INT64: 'int64',
  TYPE_SINT64: 'int64',
  TYPE_SFIXED64: 'int64',
  TYPE_UINT64: 'uint64',
  TYPE_FIXED64: 'uint64',
};

/**
 * fields.ts: each message's fields as `name: kind` (`string`, `uint64`, `msg:<full name>`,
 * `enum:<full name>`, with `[]` for repeated and `map:` for maps), and each enum's value names.
 * Any packing checks objects built in code against it (the generated encoders do not check).
 */
function fieldsSource(set) {
  const messages = {};
  const enums = {};
  const kindOf = (f) => (f.type === 'TYPE_MESSAGE' ? `msg:${f.typeName.slice(1)}` : f.type === 'TYPE_ENUM' ? `enum:${f.typeName.slice(1)}` : SCALARS[f.type]);
  const walk = (pkg, types, enumTypes) => {
    for (const e of enumTypes ?? []) enums[`${pkg}.${e.name}`] = e.value.map((v) => v.name);
    for (const m of types ?? []) {
      const full = `${pkg}.${m.name}`;
      walk(full, m.nestedType, m.enumType);
      if (m.options?.mapEntry) continue;
      const fields = {};
      for (const f of m.field ?? []) {
        const entry = f.type === 'TYPE_MESSAGE' && (m.nestedType ?? []).find((n) => n.options?.mapEntry && `${full}.${n.name}` === f.typeName.slice(1));
        if (entry) fields[f.name] = `map:${kindOf(entry.field.find((x) => x.name === 'value'))}`;
        else fields[f.name] = kindOf(f) + (f.label === 'LABEL_REPEATED' ? '[]' : '');
        if (!fields[f.name] || fields[f.name].startsWith('undefined')) throw new Error(`gen-api: ${full}.${f.name}: unsupported type ${f.type}`);
      }
      messages[full] = fields;
    }
  };
  for (const f of set.file) walk(f.package, f.messageType, f.enumType);
  return [
    '// Generated by scripts/gen-api.js from proto/. DO NOT EDIT.',
    '/* eslint-disable */',
    '',
    `export const MESSAGE_FIELDS: Record<string, Record<string, string>> = ${JSON.stringify(messages)};`,
    '',
    `export const ENUM_VALUES: Record<string, string[]> = ${JSON.stringify(enums)};`,
    '',
  ].join('\n');
}

function indexSource(set) {
  const services = [];
  const messages = [];
  for (const f of set.file) {
    const c = collect(f);
    services.push(...c.services);
    messages.push(...c.messages);
  }
  services.sort((a, b) => a.fullName.localeCompare(b.fullName));
  messages.sort((a, b) => a.fullName.localeCompare(b.fullName));
  // Lazy requires: a client that packs one Any loads that one file, not every proto.
  const lazy = (e) => `  ${JSON.stringify(e.fullName)}: () => (require(${JSON.stringify(e.module)}) as typeof import(${JSON.stringify(e.module)})).${e.name},`;
  return [
    '// Generated by scripts/gen-api.js from proto/. DO NOT EDIT.',
    '/* eslint-disable */',
    '',
    '/** Every service in proto/: full name → its generated definition (loaded on first use). */',
    'export const SERVICE_DEFINITIONS = {',
    ...services.map(lazy),
    '} as const;',
    '',
    '/** Every message in proto/ (map entries aside): full name → its codec (loaded on first use). */',
    'export const MESSAGE_CODECS = {',
    ...messages.map(lazy),
    '} as const;',
    '',
    'export type ServiceName = keyof typeof SERVICE_DEFINITIONS;',
    'export type MessageName = keyof typeof MESSAGE_CODECS;',
    '/** The generated interface of a message, by full name. */',
    'export type MessageOf<N extends MessageName> = ReturnType<ReturnType<(typeof MESSAGE_CODECS)[N]>["decode"]>;',
    '',
  ].join('\n');
}

function main() {
  const want = stamp();
  const stampFile = join(OUT, '.stamp');
  if (!process.argv.includes('--force') && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) return;
  const tmp = `${OUT}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const template = { version: 'v2', plugins: [{ local: join(BIN, 'protoc-gen-ts_proto'), out: tmp, opt: TS_PROTO_OPTIONS }] };
    buf(['generate', 'proto', '--template', JSON.stringify(template)], { stdio: ['ignore', 'inherit', 'inherit'] });
    const set = JSON.parse(buf(['build', 'proto', '-o', '-#format=json']).toString());
    writeFileSync(join(tmp, 'index.ts'), indexSource(set));
    writeFileSync(join(tmp, 'fields.ts'), fieldsSource(set));
    writeFileSync(join(tmp, '.stamp'), want);
    rmSync(OUT, { recursive: true, force: true });
    renameSync(tmp, OUT);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  process.stdout.write(`gen-api: ${relative(ROOT, OUT)} regenerated from proto/\n`);
}

main();
