/** The printed table: one row per workload, both sides, ratio, target and a ✓/✗ mark. */
import type { MachineLimits } from './machine';
import type { Row } from './runner';

function num(v: number | undefined | null): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '—';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function formatTable(rows: Row[]): string {
  const head = ['workload', 'unit', 'berth med', 'berth p95', 'ctrd med', 'ctrd p95', 'berth/ctrd', 'target', 'met'];
  const body = rows.map((r) => {
    if (r.status === 'not yet') return [r.name, r.unit, 'not yet', '', num(r.containerd?.median), num(r.containerd?.p95), '', r.target ?? '—', ''];
    const met = r.status === 'error' ? 'error' : r.met === null ? '' : r.met ? '✓' : '✗';
    return [
      r.name,
      r.unit,
      num(r.berth?.median),
      num(r.berth?.p95),
      num(r.containerd?.median),
      num(r.containerd?.p95),
      r.ratio === null ? '—' : `${num(r.ratio)}×`,
      r.target ?? '—',
      met,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => [...b[i]].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c + ' '.repeat(widths[i] - [...c].length)).join(' | ') + ' |';
  const out = [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.name}: ${r.status}: ${r.note}`);
  return [...out, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}

export function formatMachine(m: MachineLimits, loadAvgEnd?: number[]): string {
  const line = `machine: ${m.cpus} × ${m.cpuModel}, ${m.memMiB} MiB; one core: sha256 ${num(m.sha256MiBs)} MiB/s, gzip -6 ${num(m.gzipMiBs)} MiB/s, gunzip ${num(m.gunzipMiBs)} MiB/s`;
  if (!m.loadAvg?.length) return line;
  const la = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  const busy = Math.max(m.loadAvg[0]!, loadAvgEnd?.[0] ?? 0) > m.cpus * 0.75 ? ` — the machine was busy with other work; treat small differences as noise` : '';
  return `${line}\nload average (1/5/15 min): ${la(m.loadAvg)} at start${loadAvgEnd ? `, ${la(loadAvgEnd)} at end` : ''}${busy}`;
}
