/**
 * A pull's or push's progress as Docker prints it: one row per blob (`<12 hex>: Downloading
 * [==>   ] 1.2MB/3.4MB`) redrawn in place when stdout is a terminal, and otherwise one plain line
 * each time a blob changes state (never a line per byte count, so a log stays readable).
 */
import type { Progress } from '../../../client';
import { humanSize } from '../../output/units';

const STATE: Record<string, string> = {
  waiting: 'Waiting',
  downloading: 'Downloading',
  resuming: 'Resuming download',
  complete: 'Download complete',
  exists: 'Already exists',
  uploading: 'Pushing',
  mounted: 'Mounted from another repository',
  pushed: 'Pushed',
  unpacking: 'Extracting',
  unpacked: 'Pull complete',
};

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

function bar(done: number, total: number): string {
  if (total <= 0) return '';
  const width = 50;
  const n = Math.min(width, Math.floor((done / total) * width));
  return `[${'='.repeat(Math.max(0, n - 1))}${n > 0 && n < width ? '>' : n === width ? '=' : ''}${' '.repeat(width - n)}] ${humanSize(done)}/${humanSize(total)}`;
}

export class ProgressView {
  private readonly rows = new Map<string, { state: string; done: number; total: number }>();
  private drawn = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly out: (s: string) => Promise<void>,
    /** Redraw rows in place (a terminal), else plain lines. */
    private readonly tty: boolean,
  ) {}

  /** Takes one event; resolves once its output is written. */
  onProgress = (p: Progress): void => {
    const text = STATE[p.event];
    const digest = p.desc?.digest ?? (p.name.startsWith('sha256:') ? p.name : '');
    if (!text || !digest) return;
    // An unpacked event names a chain ID; its desc is the layer.
    const key = short(digest);
    const prev = this.rows.get(key);
    const row = { state: text, done: p.progress, total: p.total || prev?.total || 0 };
    this.rows.set(key, row);
    if (this.tty) this.write(this.redraw());
    else if (prev?.state !== text) this.write(`${key}: ${text}\n`);
  };

  /** A line of its own before the rows (none are drawn yet when the pull's header comes). */
  line(s: string): void {
    this.write(s);
  }

  private redraw(): string {
    const lines = [...this.rows].map(([k, r]) => `${k}: ${r.state}${r.state === 'Downloading' || r.state === 'Pushing' ? ` ${bar(r.done, r.total)}` : ''}`);
    const up = this.drawn ? `\x1b[${this.drawn}A` : '';
    this.drawn = lines.length;
    return `${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`;
  }

  private write(s: string): void {
    this.pending = this.pending.then(() => this.out(s));
  }

  /** Waits until everything taken so far is written. */
  flush(): Promise<void> {
    return this.pending;
  }
}
