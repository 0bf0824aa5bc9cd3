/** The results chart: per workload, berth's and containerd's medians as bars scaled to the row. */
import { Canvas, type Rgb } from './png';
import type { Row } from './runner';

const BERTH: Rgb = [38, 110, 200];
const CTRD: Rgb = [235, 140, 40];
const GREY: Rgb = [120, 120, 120];

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function chartPng(rows: Row[], title: string): Buffer {
  const rowH = 44;
  const top = 60;
  const labelW = 300;
  const barW = 460;
  const c = new Canvas(labelW + barW + 260, top + rows.length * rowH + 20);
  c.text(10, 10, title.slice(0, 80), [0, 0, 0], 2);
  let x = c.text(10, 34, 'berth ', BERTH, 2);
  c.rect(x, 34, 14, 14, BERTH);
  x = c.text(x + 30, 34, 'containerd ', CTRD, 2);
  c.rect(x, 34, 14, 14, CTRD);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    c.text(10, y + 8, r.name.slice(0, 23), [0, 0, 0], 2);
    c.text(10, y + 26, r.unit.slice(0, 12), GREY, 1);
    if (r.status === 'not yet' && r.containerd) {
      // containerd was still measured: its bar, beside berth's "not yet".
      c.text(labelW, y + 4, 'not yet', GREY, 2);
      c.rect(labelW, y + 22, Math.min(barW, 120), 16, CTRD);
      c.text(labelW + Math.min(barW, 120) + 6, y + 24, fmt(r.containerd.median), CTRD, 2);
      return;
    }
    if (r.status === 'not yet' || !r.berth || !r.containerd) {
      c.text(labelW, y + 12, r.status === 'not yet' ? 'not yet' : 'error', GREY, 2);
      return;
    }
    // Bars scale with the larger magnitude; a negative median (a noisy delta) draws as a stub.
    const max = Math.max(Math.abs(r.berth.median), Math.abs(r.containerd.median)) || 1;
    const bw = (barW * Math.max(0, r.berth.median)) / max;
    const cw = (barW * Math.max(0, r.containerd.median)) / max;
    c.rect(labelW, y + 4, Math.max(1, bw), 16, BERTH);
    c.rect(labelW, y + 22, Math.max(1, cw), 16, CTRD);
    c.text(labelW + bw + 6, y + 6, fmt(r.berth.median), BERTH, 2);
    c.text(labelW + cw + 6, y + 24, fmt(r.containerd.median), CTRD, 2);
    const mark = r.met === null ? '' : r.met ? ' ✓' : ' ✗';
    if (r.ratio !== null) c.text(labelW + barW + 110, y + 14, `${fmt(r.ratio)}×${mark}`, r.met === false ? [200, 30, 30] : [0, 0, 0], 2);
  });
  return c.png();
}
