/**
 * The part of Go's text/template that `docker --format` strings use: `{{.Field}}`,
 * `{{.A.B}}`, `{{json .}}`, `{{.Label "key"}}` (a method with arguments), pipelines
 * (`{{.Names | upper}}`), the functions Docker adds (json, upper, lower, title, join, split,
 * truncate, pad, println, len, index), and `{{- ... -}}` trimming. `range`, `if` and variables
 * are not supported: such a template is refused with a clear error instead of printing wrong
 * output. Values print as Go prints them (`[a b]` for a list, `map[k:v]` for a map).
 */

export class TemplateError extends Error {}

type Value = unknown;
type Fn = (...args: Value[]) => Value;

const FUNCS: Record<string, Fn> = {
  json: (v) => JSON.stringify(v ?? null),
  upper: (v) => str(v).toUpperCase(),
  lower: (v) => str(v).toLowerCase(),
  title: (v) => str(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  join: (list, sep) => (Array.isArray(list) ? list.map(str).join(str(sep)) : str(list)),
  split: (s, sep) => str(s).split(str(sep)),
  truncate: (s, n) => [...str(s)].slice(0, Number(n)).join(''),
  pad: (s, l, r) => ' '.repeat(Number(l)) + str(s) + ' '.repeat(Number(r)),
  println: (...vs) => vs.map(str).join(' ') + '\n',
  len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  index: (v, ...keys) => keys.reduce<Value>((o, k) => (o && typeof o === 'object' ? (o as Record<string, Value>)[str(k)] : undefined), v),
};

/** Go's fmt %v for the values rows carry. */
export function str(v: Value): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(str).join(' ')}]`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object')
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${str((v as Record<string, Value>)[k])}`)
      .join(' ')}]`;
  return String(v);
}

type Node = { text: string } | { pipeline: string };

/** Splits the template into text and actions, applying `{{-`/`-}}` trimming. */
function lex(src: string): Node[] {
  const out: Node[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    const close = src.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError(`template: unclosed action in ${JSON.stringify(src)}`);
    let inner = src.slice(open + 2, close);
    if (inner.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    let trimNext = false;
    if (inner.endsWith('-')) {
      inner = inner.slice(0, -1);
      trimNext = true;
    }
    if (text) out.push({ text });
    out.push({ pipeline: inner.trim() });
    i = close + 2;
    if (trimNext) while (i < src.length && /\s/.test(src[i]!)) i++;
  }
  return out;
}

/** Words of a command: quoted strings (with Go's escapes), raw strings, fields, names, numbers. */
function words(cmd: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|[^\s"`]+)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(cmd))) {
    out.push(m[1]!);
    end = re.lastIndex;
  }
  // A failed exec resets lastIndex: what is left is after the last match.
  if (cmd.slice(end).trim()) throw new TemplateError(`template: cannot read ${JSON.stringify(cmd)}`);
  return out;
}

function field(dot: Value, path: string, args: Value[]): Value {
  let v: Value = dot;
  const parts = path.split('.').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (v === null || typeof v !== 'object')
      throw new TemplateError(`template: can't evaluate field ${p} in type ${v === null || v === undefined ? 'nil' : typeof v}`);
    if (!(p in (v as object))) throw new TemplateError(`template: can't evaluate field ${p}`);
    const next = (v as Record<string, Value>)[p];
    v = typeof next === 'function' ? (i === parts.length - 1 ? (next as Fn).apply(v, args) : (next as Fn).call(v)) : next;
  }
  return v;
}

function operand(w: string, dot: Value): Value {
  if (w === '.') return dot;
  if (w.startsWith('.')) return field(dot, w, []);
  if (w.startsWith('"')) return JSON.parse(w) as string;
  if (w.startsWith('`')) return w.slice(1, -1);
  if (/^-?\d+(\.\d+)?$/.test(w)) return Number(w);
  if (w === 'true' || w === 'false') return w === 'true';
  throw new TemplateError(`template: unexpected ${JSON.stringify(w)}`);
}

function evalCommand(ws: string[], dot: Value, piped: Value[]): Value {
  const [head, ...rest] = ws;
  if (head === undefined) throw new TemplateError('template: empty command');
  const args = [...rest.map((w) => operand(w, dot)), ...piped];
  if (head.startsWith('.') && head !== '.') return field(dot, head, args);
  const fn = FUNCS[head];
  if (fn) return fn(...args);
  if (['range', 'if', 'with', 'end', 'else', 'define', 'template', 'block'].includes(head) || head.startsWith('$'))
    throw new TemplateError(`template: "${head}" is not supported by berth's --format (fields, pipelines and functions are)`);
  if (rest.length || piped.length) throw new TemplateError(`template: function "${head}" not defined`);
  return operand(head, dot);
}

export interface Template {
  render(dot: Value): string;
}

/** A pipeline's commands: split at `|` outside quotes. */
function pipes(p: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q: string | undefined;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (q) {
      cur += c;
      if (c === '\\' && q === '"') cur += p[++i] ?? '';
      else if (c === q) q = undefined;
    } else if (c === '"' || c === '`') {
      q = c;
      cur += c;
    } else if (c === '|') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Parses once, renders per row. */
export function parseTemplate(src: string): Template {
  const nodes = lex(src);
  const compiled = nodes.map((n) => ('text' in n ? n : { pipeline: pipes(n.pipeline).map((c) => words(c.trim())) }));
  for (const n of compiled) if ('pipeline' in n) for (const c of n.pipeline) if (!c.length) throw new TemplateError('template: missing command in pipeline');
  return {
    render(dot) {
      let out = '';
      for (const n of compiled) {
        if ('text' in n) out += n.text;
        else {
          let v: Value = undefined;
          n.pipeline.forEach((c, i) => (v = evalCommand(c, dot, i === 0 ? [] : [v])));
          out += str(v);
        }
      }
      return out;
    },
  };
}
