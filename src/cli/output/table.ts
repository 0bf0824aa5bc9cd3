/**
 * Columns aligned as Docker's tabwriter aligns them (cells separated by tabs, each column as
 * wide as its widest cell plus 3 spaces; the last column unpadded).
 */
export function alignTabs(lines: readonly string[]): string {
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => i < r.length - 1 && (widths[i] = Math.max(widths[i] ?? 0, width(c))));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i < r.length - 1 ? c + ' '.repeat((widths[i] ?? 0) - width(c) + 3) : c))
          .join('')
          .replace(/\s+$/, ''),
      )
      .join('\n') + (rows.length ? '\n' : '')
  );
}

/** Display width: code points (wide characters are rare in these tables). */
function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
