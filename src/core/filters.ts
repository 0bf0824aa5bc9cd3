import { invalidArgument } from './errors';

/**
 * containerd filter expressions (pkg/filters):
 *   filters   := selector ( ',' selector )*          -- comma = AND
 *   selector  := fieldpath ( op value )?             -- no op: field is present and non-empty
 *   fieldpath := field ( '.' field )*                -- field: [A-Za-z0-9_/-]+ or a quoted string
 *   op        := '==' | '!=' | '~='                  -- ~= is a regular expression match
 *   value     := quoted string | run of chars up to ','
 * A list of filter strings is OR. An empty string (ctr sends `[""]`) matches everything.
 */
export type Adaptor = (fieldpath: string[]) => string | undefined;
export type Filter = (a: Adaptor) => boolean;

interface Selector {
  path: string[];
  op?: '==' | '!=' | '~=';
  value?: string;
  re?: RegExp;
}

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  peek(n = 1) {
    return this.s.slice(this.pos, this.pos + n);
  }
  eof() {
    return this.pos >= this.s.length;
  }
  skipSpace() {
    while (!this.eof() && /\s/.test(this.s[this.pos]!)) this.pos++;
  }
  fail(msg: string): never {
    throw invalidArgument(`filter ${JSON.stringify(this.s)}: ${msg} at position ${this.pos}`);
  }
  quoted(): string {
    const q = this.s[this.pos]!;
    this.pos++;
    let out = '';
    while (!this.eof()) {
      const c = this.s[this.pos++]!;
      if (c === q) return out;
      if (c === '\\' && !this.eof()) {
        const n = this.s[this.pos++]!;
        out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      } else out += c;
    }
    return this.fail('unterminated quoted string');
  }
}

const FIELD_CHAR = /[A-Za-z0-9_/-]/;

function parseSelector(sc: Scanner): Selector {
  const path: string[] = [];
  for (;;) {
    sc.skipSpace();
    const c = sc.peek();
    if (c === '"' || c === '`') path.push(sc.quoted());
    else {
      const start = sc.pos;
      while (!sc.eof() && FIELD_CHAR.test(sc.peek())) sc.pos++;
      if (sc.pos === start) sc.fail('expected a field name');
      path.push(sc.s.slice(start, sc.pos));
    }
    if (sc.peek() === '.') {
      sc.pos++;
      continue;
    }
    break;
  }
  sc.skipSpace();
  const two = sc.peek(2);
  if (two !== '==' && two !== '!=' && two !== '~=') {
    if (!sc.eof() && sc.peek() !== ',') sc.fail('expected an operator (==, != or ~=)');
    return { path };
  }
  sc.pos += 2;
  sc.skipSpace();
  let value: string;
  const c = sc.peek();
  if (c === '"' || c === '`') value = sc.quoted();
  else {
    const start = sc.pos;
    while (!sc.eof() && sc.peek() !== ',') sc.pos++;
    value = sc.s.slice(start, sc.pos).trim();
    if (!value) sc.fail('expected a value');
  }
  const sel: Selector = { path, op: two, value };
  if (two === '~=') {
    try {
      sel.re = new RegExp(value);
    } catch {
      sc.fail(`invalid regular expression ${JSON.stringify(value)}`);
    }
  }
  return sel;
}

function parseOne(expr: string): Selector[] {
  const sc = new Scanner(expr);
  const sels: Selector[] = [];
  sc.skipSpace();
  if (sc.eof()) return sels;
  for (;;) {
    sels.push(parseSelector(sc));
    sc.skipSpace();
    if (sc.eof()) return sels;
    if (sc.peek() !== ',') sc.fail('expected ","');
    sc.pos++;
  }
}

function matchSelector(sel: Selector, a: Adaptor): boolean {
  const v = a(sel.path);
  switch (sel.op) {
    case undefined:
      return v !== undefined && v !== '';
    case '==':
      return v === sel.value;
    case '!=':
      return v !== sel.value;
    case '~=':
      return v !== undefined && sel.re!.test(v);
  }
}

/** Parses a list of filter strings (OR of ANDs). Throws InvalidArgument on a syntax error. */
export function parseFilters(filters: readonly string[] | undefined): Filter {
  const alts = (filters ?? []).map(parseOne);
  if (alts.length === 0 || alts.some((a) => a.length === 0)) return () => true;
  return (a) => alts.some((sels) => sels.every((s) => matchSelector(s, a)));
}

/**
 * Adaptor helper for the common shape: top-level string fields plus `labels.<key>`
 * (a label key may itself contain dots: `labels."a.b"` and `labels.a.b` both work).
 */
export function adapt(fields: Record<string, string | undefined>, labels?: Record<string, string>): Adaptor {
  return (path) => {
    if (path.length === 0) return undefined;
    if (path[0] === 'labels') return labels?.[path.slice(1).join('.')];
    if (path.length !== 1) return undefined;
    return fields[path[0]!];
  };
}
