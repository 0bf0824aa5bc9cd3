/**
 * Checks an object built in code against a message's field kinds before it is packed (the
 * generated encoders trust their input: `name: 42` would go out as the string "42"). Like
 * protobufjs's verify: unset fields are fine (they take their defaults), unknown keys are
 * ignored, 64-bit integers may be numbers, bigints or decimal strings.
 */
import { ENUM_VALUES, MESSAGE_FIELDS } from './gen/fields';

const INT64 = /^-?\d+$/;
const UINT64 = /^\d+$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function scalarError(kind: string, v: unknown): string | null {
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? null : 'string expected';
    case 'bytes':
      return v instanceof Uint8Array ? null : 'bytes (Buffer) expected';
    case 'bool':
      return typeof v === 'boolean' ? null : 'boolean expected';
    case 'float':
      return typeof v === 'number' ? null : 'number expected';
    case 'int32':
      return Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31 ? null : 'int32 expected';
    case 'uint32':
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32 ? null : 'uint32 expected';
    case 'int64':
      return Number.isSafeInteger(v) || typeof v === 'bigint' || (typeof v === 'string' && INT64.test(v)) ? null : 'int64 expected';
    case 'uint64':
      return (Number.isSafeInteger(v) && (v as number) >= 0) || (typeof v === 'bigint' && v >= 0n) || (typeof v === 'string' && UINT64.test(v))
        ? null
        : 'uint64 expected';
    default:
      return `unknown kind ${kind}`;
  }
}

function valueError(kind: string, v: unknown, path: string): string | null {
  if (kind.startsWith('msg:')) {
    const type = kind.slice(4);
    // ts-proto holds a FieldMask as its paths.
    if (type === 'google.protobuf.FieldMask') return Array.isArray(v) && v.every((p) => typeof p === 'string') ? null : `${path}: string[] expected`;
    return isPlainObject(v) ? verifyMessage(type, v, path) : `${path}: object expected`;
  }
  if (kind.startsWith('enum:')) {
    const names = ENUM_VALUES[kind.slice(5)] ?? [];
    return (typeof v === 'string' && names.includes(v)) || Number.isInteger(v) ? null : `${path}: enum value expected (${names.join(', ')})`;
  }
  const e = scalarError(kind, v);
  return e ? `${path}: ${e}` : null;
}

/** Null when `obj` fits message `fullName`, else what is wrong (`labels.a: string expected`). */
export function verifyMessage(fullName: string, obj: Record<string, unknown>, path = ''): string | null {
  const fields = MESSAGE_FIELDS[fullName];
  if (!fields) return `${path || fullName}: no message type ${fullName} in proto/`;
  for (const [name, kind] of Object.entries(fields)) {
    const v = obj[name];
    if (v === undefined || v === null) continue;
    const p = path ? `${path}.${name}` : name;
    let err: string | null = null;
    if (kind.endsWith('[]')) {
      if (!Array.isArray(v)) return `${p}: array expected`;
      for (let i = 0; i < v.length && !err; i++) err = valueError(kind.slice(0, -2), v[i], `${p}[${i}]`);
    } else if (kind.startsWith('map:')) {
      if (!isPlainObject(v)) return `${p}: object expected`;
      for (const [k, x] of Object.entries(v)) if (!err) err = valueError(kind.slice(4), x, `${p}.${k}`);
    } else err = valueError(kind, v, p);
    if (err) return err;
  }
  return null;
}
