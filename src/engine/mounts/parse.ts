/**
 * Docker's mount flags, parsed with Docker's rules and messages: `-v` (moby's linux parser
 * ParseMountRaw), `--mount` (the docker CLI's MountOpt, then the daemon's parseMountSpec),
 * `--tmpfs` and `--volumes-from`. Pure: whether a bind source exists is checked when the
 * container is created (plan.ts).
 */
import { invalidArgument } from '../../core/errors';
import type { MountSpec, Propagation } from './types';

const PROPAGATIONS: readonly Propagation[] = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'];
const CONSISTENCY = ['consistent', 'cached', 'delegated', 'default'];

const invalidSpec = (raw: string) => `invalid volume specification: '${raw}'`;
const mountConfig = (type: string, msg: string) => invalidArgument(`invalid mount config for type "${type}": ${msg}`);

interface ModeFlags {
  readOnly: boolean;
  copyData?: boolean;
  propagation?: Propagation;
}

/** `-v`'s mode: comma-separated, at most one of each kind (rw/ro, z/Z, nocopy, a propagation, a consistency). */
function parseMode(mode: string): ModeFlags | undefined {
  const out: ModeFlags = { readOnly: false };
  if (mode === '') return out;
  const seen = new Set<string>();
  const once = (k: string) => (seen.has(k) ? false : (seen.add(k), true));
  for (const o of mode.split(',')) {
    if (o === 'rw' || o === 'ro') {
      if (!once('rw')) return undefined;
      out.readOnly = o === 'ro';
    } else if (o === 'z' || o === 'Z') {
      if (!once('label')) return undefined; // SELinux relabelling: berth has no SELinux labels to apply
    } else if (o === 'nocopy') {
      if (!once('copy')) return undefined;
      out.copyData = false;
    } else if ((PROPAGATIONS as readonly string[]).includes(o)) {
      if (!once('propagation')) return undefined;
      out.propagation = o as Propagation;
    } else if (CONSISTENCY.includes(o)) {
      if (!once('consistency')) return undefined;
    } else return undefined;
  }
  return out;
}

function checkTarget(type: string, target: string): void {
  if (!target.startsWith('/')) throw mountConfig(type, `invalid mount path: '${target}' mount path must be absolute`);
  if (target.replace(/\/+$/, '') === '') throw invalidArgument(`invalid specification: destination can't be '/'`);
}

/** `-v [SOURCE:]TARGET[:MODE]`: SOURCE absolute is a bind, else a volume name; none is an anonymous volume. */
export function parseVolumeFlag(raw: string): MountSpec {
  const parts = raw.split(':');
  if (parts[0] === '' || parts.length > 3) throw invalidArgument(invalidSpec(raw));
  let source = '';
  let target: string;
  let mode = '';
  if (parts.length === 1) target = parts[0]!;
  else if (parts.length === 2) {
    // `/foo:rw` would be a target with a mode: volumes cannot take one without a source.
    if (parseMode(parts[1]!) && parts[1] !== '') throw invalidArgument(invalidSpec(raw));
    [source, target] = parts as [string, string];
  } else [source, target, mode] = parts as [string, string, string];
  const flags = parseMode(mode);
  if (!flags) throw invalidArgument(`invalid mode: ${mode}`);
  const type = source.startsWith('/') ? 'bind' : 'volume';
  try {
    checkTarget(type, target);
    if (type === 'volume' && source === '' && flags.readOnly) throw mountConfig(type, 'must not set ReadOnly mode when using anonymous volumes');
    if (type === 'volume' && flags.propagation) throw mountConfig(type, 'field BindOptions must not be specified');
  } catch (e) {
    throw invalidArgument(`${invalidSpec(raw)}: ${(e as Error).message}`);
  }
  return {
    type,
    source,
    target: cleanTarget(target),
    readOnly: flags.readOnly,
    copyData: type === 'volume' ? (flags.copyData ?? true) : false,
    ...(type === 'bind' ? { propagation: flags.propagation ?? 'rprivate' } : {}),
    origin: 'bind-flag',
    mode,
  };
}

/** Splits one CSV record (encoding/csv: fields may be double-quoted, `""` is a quote). */
export function splitCsv(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw invalidArgument(`invalid --mount ${JSON.stringify(s)}: extraneous or missing " in quoted-field`);
  out.push(cur);
  return out;
}

/** strconv.ParseBool, and a bare key means true. */
function parseBool(key: string, val: string | undefined): boolean {
  if (val === undefined) return true;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(val)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(val)) return false;
  throw invalidArgument(`invalid value for ${key}: ${val}`);
}

function setKv(into: Record<string, string>, v: string): void {
  const eq = v.indexOf('=');
  const k = eq < 0 ? v : v.slice(0, eq);
  if (k) into[k] = eq < 0 ? '' : v.slice(eq + 1);
}

/** `--mount type=volume|bind|tmpfs,source=…,target=…,…` (the docker CLI's parser, then the daemon's checks). */
export function parseMountFlag(raw: string): MountSpec {
  let type = 'volume';
  let source = '';
  let target = '';
  let readOnly = false;
  let copyData = true;
  let subpath: string | undefined;
  let propagation: string | undefined;
  let nonRecursive: boolean | undefined;
  let driver: string | undefined;
  let tmpfsSize: string | undefined;
  let tmpfsMode: number | undefined;
  const labels: Record<string, string> = {};
  const opts: Record<string, string> = {};
  const kinds = new Set<'volume' | 'bind' | 'tmpfs'>();
  for (const field of splitCsv(raw)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    if (val === undefined && !['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive'].includes(key))
      throw invalidArgument(`invalid field '${field}' must be a key=value pair`);
    const v = val ?? '';
    switch (key) {
      case 'type':
        type = v.toLowerCase();
        break;
      case 'source':
      case 'src':
        source = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        target = v;
        break;
      case 'readonly':
      case 'ro':
        readOnly = parseBool(key, val);
        break;
      case 'consistency':
        if (!CONSISTENCY.includes(v)) throw invalidArgument(`invalid value for consistency: ${v}`);
        break;
      case 'bind-propagation':
        kinds.add('bind');
        propagation = v.toLowerCase();
        break;
      case 'bind-nonrecursive':
        kinds.add('bind');
        nonRecursive = parseBool(key, val);
        break;
      case 'volume-subpath':
        kinds.add('volume');
        subpath = v;
        break;
      case 'volume-nocopy':
        kinds.add('volume');
        copyData = !parseBool(key, val);
        break;
      case 'volume-label':
        kinds.add('volume');
        setKv(labels, v);
        break;
      case 'volume-driver':
        kinds.add('volume');
        driver = v;
        break;
      case 'volume-opt':
        kinds.add('volume');
        setKv(opts, v);
        break;
      case 'tmpfs-size':
        kinds.add('tmpfs');
        tmpfsSize = v;
        break;
      case 'tmpfs-mode':
        kinds.add('tmpfs');
        if (!/^[0-7]+$/.test(v) || parseInt(v, 8) > 0o7777) throw invalidArgument(`invalid value for ${key}: ${v}`);
        tmpfsMode = parseInt(v, 8);
        break;
      default:
        throw invalidArgument(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (type === '') throw invalidArgument('type is required');
  if (target === '') throw invalidArgument('target is required');
  if (type !== 'volume' && type !== 'bind' && type !== 'tmpfs') throw invalidArgument(`mount type unknown: ${JSON.stringify(type)}`);
  for (const k of kinds) if (k !== type) throw invalidArgument(`cannot mix '${k}-*' options with mount type '${type}'`);
  checkTarget(type, target);
  if (propagation !== undefined && !(PROPAGATIONS as readonly string[]).includes(propagation))
    throw mountConfig(type, `invalid propagation mode: ${propagation}`);
  if (type === 'bind' && !source.startsWith('/'))
    throw mountConfig(type, source ? `invalid mount path: '${source}' mount path must be absolute` : 'field Source must not be empty');
  if (type === 'tmpfs' && source) throw mountConfig(type, 'field Source must not be specified');
  if (type === 'volume' && source === '' && readOnly) throw mountConfig(type, 'must not set ReadOnly mode when using anonymous volumes');
  if (subpath !== undefined && (subpath.startsWith('/') || subpath.split('/').includes('..')))
    throw mountConfig(type, `subpath must be a relative path within the volume`);
  return {
    type,
    source,
    target: cleanTarget(target),
    readOnly,
    copyData: type === 'volume' && copyData && subpath === undefined,
    ...(type === 'bind' ? { propagation: (propagation ?? 'rprivate') as Propagation, ...(nonRecursive ? { nonRecursive } : {}) } : {}),
    ...(type === 'volume' && driver ? { volumeDriver: driver } : {}),
    ...(type === 'volume' && Object.keys(labels).length ? { volumeLabels: labels } : {}),
    ...(type === 'volume' && Object.keys(opts).length ? { volumeOptions: opts } : {}),
    ...(subpath !== undefined ? { subpath } : {}),
    ...(tmpfsSize !== undefined ? { tmpfsSize } : {}),
    ...(tmpfsMode !== undefined ? { tmpfsMode } : {}),
    origin: 'mount-flag',
  };
}

/** `--tmpfs /path[:opts]` (HostConfig.Tmpfs). */
export function parseTmpfsFlag(raw: string): MountSpec {
  const colon = raw.indexOf(':');
  const target = colon < 0 ? raw : raw.slice(0, colon);
  const options =
    colon < 0
      ? []
      : raw
          .slice(colon + 1)
          .split(',')
          .filter(Boolean);
  checkTarget('tmpfs', target);
  let readOnly = false;
  const rest: string[] = [];
  let size: string | undefined;
  let mode: number | undefined;
  for (const o of options) {
    if (o === 'ro' || o === 'rw') readOnly = o === 'ro';
    else if (o.startsWith('size=')) size = o.slice(5);
    else if (o.startsWith('mode=')) {
      if (!/^[0-7]+$/.test(o.slice(5))) throw invalidArgument(`invalid tmpfs option ${JSON.stringify(o)}`);
      mode = parseInt(o.slice(5), 8);
    } else rest.push(o);
  }
  return {
    type: 'tmpfs',
    source: '',
    target: cleanTarget(target),
    readOnly,
    copyData: false,
    ...(size !== undefined ? { tmpfsSize: size } : {}),
    ...(mode !== undefined ? { tmpfsMode: mode } : {}),
    ...(rest.length ? { tmpfsOptions: rest } : {}),
    origin: 'tmpfs-flag',
  };
}

/** `--volumes-from CONTAINER[:ro|:rw]`. */
export function parseVolumesFrom(raw: string): { container: string; mode?: 'ro' | 'rw' } {
  const colon = raw.lastIndexOf(':');
  if (colon < 0) return { container: raw };
  const mode = raw.slice(colon + 1);
  if (mode !== 'ro' && mode !== 'rw') throw invalidArgument(`invalid mode for volumes-from: ${mode}`);
  if (colon === 0) throw invalidArgument(`invalid volumes-from ${JSON.stringify(raw)}`);
  return { container: raw.slice(0, colon), mode };
}

/** `/data/` and `/data` are one mount point. */
export function cleanTarget(t: string): string {
  const parts: string[] = [];
  for (const p of t.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}
