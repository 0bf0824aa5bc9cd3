/**
 * `import --change` / `commit --change`: Dockerfile instructions applied to an image's run config,
 * the ones Docker allows there (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR,
 * STOPSIGNAL; ONBUILD and HEALTHCHECK are not supported by berth yet).
 */
import { invalidArgument, notImplemented } from '../../core/errors';
import type { ImageRunConfig } from '../image';

/** JSON array form (`["a","b"]`), or undefined when the value is not one. */
function jsonArray(v: string): string[] | undefined {
  if (!v.startsWith('[')) return undefined;
  try {
    const a = JSON.parse(v) as unknown;
    return Array.isArray(a) && a.every((x) => typeof x === 'string') ? a : undefined;
  } catch {
    return undefined;
  }
}

/** Splits `k=v "k 2"="v 2" k3=v3`, quotes removed (Dockerfile's key=value lists). */
function keyValues(instr: string, v: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /\s*((?:"[^"]*"|'[^']*'|[^\s="']+)+)=((?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"']+)*)/y;
  const unquote = (s: string) =>
    s.replace(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g, (_, d: string | undefined, q: string | undefined) => (d !== undefined ? d.replace(/\\(.)/g, '$1') : q!));
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < v.length && (m = re.exec(v))) {
    out.push([unquote(m[1]!), unquote(m[2]!)]);
    at = re.lastIndex;
    if (/^\s*$/.test(v.slice(at))) return out;
  }
  throw invalidArgument(`${instr} ${v}: want KEY=VALUE pairs`);
}

const words = (v: string) => v.split(/\s+/).filter(Boolean);

export function applyChanges(base: ImageRunConfig, changes: readonly string[]): ImageRunConfig {
  const c: ImageRunConfig = { ...base };
  for (const raw of changes) {
    const line = raw.trim();
    const sp = line.search(/\s/);
    const instr = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const v = sp < 0 ? '' : line.slice(sp).trim();
    if (v === '' && instr !== '') {
      if (!['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'USER', 'WORKDIR', 'STOPSIGNAL', 'VOLUME', 'ONBUILD', 'HEALTHCHECK'].includes(instr))
        throw invalidArgument(`${instr} is not a valid change command`);
      throw invalidArgument(`${instr} requires at least one argument`);
    }
    switch (instr) {
      case 'CMD':
      case 'ENTRYPOINT': {
        const args = jsonArray(v) ?? ['/bin/sh', '-c', v];
        if (instr === 'CMD') c.Cmd = args;
        else c.Entrypoint = args;
        break;
      }
      case 'ENV': {
        // `ENV K V` (one pair, the rest of the line is the value) or `ENV K=V ...`.
        const pairs =
          /^[^\s=]+\s/.test(v) && !v.split(/\s/)[0]!.includes('=')
            ? [[v.split(/\s/)[0]!, v.slice(v.search(/\s/)).trim()] as [string, string]]
            : keyValues(instr, v);
        const env = [...(c.Env ?? [])];
        for (const [k, val] of pairs) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${val}`;
          else env.push(`${k}=${val}`);
        }
        c.Env = env;
        break;
      }
      case 'EXPOSE':
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of words(v)) c.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValues(instr, v)) };
        break;
      case 'USER':
        c.User = v;
        break;
      case 'WORKDIR':
        c.WorkingDir = v;
        break;
      case 'STOPSIGNAL':
        c.StopSignal = v;
        break;
      case 'VOLUME':
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const p of jsonArray(v) ?? words(v)) c.Volumes[p] = {};
        break;
      case 'ONBUILD':
      case 'HEALTHCHECK':
        throw notImplemented(`${instr} in --change is not supported yet`);
      default:
        throw invalidArgument(`${instr || raw} is not a valid change command`);
    }
  }
  return c;
}
