/**
 * `--format` for lists and objects, as Docker's: empty or `table` gives the command's default
 * table; `table TEMPLATE` a table of those columns with Docker's headers; `json` one JSON object
 * per line (`{{json .}}`); any other string a Go-like template per row (`\t` and `\n` escapes
 * read as Docker reads them).
 */
import { CliError } from '../command';
import { alignTabs } from './table';
import { parseTemplate, TemplateError } from './template';

export interface ListFormat {
  /** The default table's template, e.g. `table {{.ID}}\t{{.Image}}`. */
  table: string;
  /** Column headers by field name (`ID` → `CONTAINER ID`); others are the field name in capitals. */
  headers: Record<string, string>;
}

function unescape(f: string): string {
  return f.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function compile(src: string) {
  try {
    return parseTemplate(src);
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(e.message, 125);
    throw e;
  }
}

function render(t: ReturnType<typeof parseTemplate>, row: unknown): string {
  try {
    return t.render(row);
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(e.message, 1);
    throw e;
  }
}

/** The header a table template gets: each action's first field, as Docker names it. */
function headerOf(tmpl: string, headers: Record<string, string>): string {
  return tmpl.replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (_, inner: string) => {
    const f = /(?:^|\s)\.([A-Za-z]\w*)/.exec(inner)?.[1];
    return f ? (headers[f] ?? f.toUpperCase()) : '';
  });
}

/** The text for `rows` under `format` (as given to --format; '' = the default table). */
export function formatList(rows: readonly unknown[], format: string | undefined, spec: ListFormat): string {
  let f = format ?? '';
  if (f === '' || f === 'table') f = spec.table;
  if (f === 'json') f = '{{json .}}';
  if (f.startsWith('table')) {
    const tmpl = unescape(f.slice(5).trim());
    const t = compile(tmpl);
    return alignTabs([headerOf(tmpl, spec.headers), ...rows.map((r) => render(t, r))].flatMap((l) => l.split('\n')));
  }
  const t = compile(unescape(f));
  return rows.map((r) => `${render(t, r)}\n`).join('');
}

/** `inspect`-style output: the objects as an indented JSON array, or a template per object. */
export function formatObjects(objs: readonly unknown[], format: string | undefined): string {
  if (!format || format === 'json') return `${JSON.stringify(objs, null, 4)}\n`;
  const t = compile(unescape(format));
  return objs.map((o) => `${render(t, o)}\n`).join('');
}
