/**
 * Runs workloads against berth and containerd alternately (A B A B …), isolating failures per row:
 * a workload that throws or times out marks its row and the run goes on.
 */
import { summarize, type Summary } from './stats';
import type { BenchEnv, Side, SideName, Workload } from './workload';

export type RowStatus = 'ok' | 'not yet' | 'error';

export interface Row {
  name: string;
  description: string;
  unit: string;
  better: 'lower' | 'higher';
  status: RowStatus;
  note?: string;
  berth: Summary | null;
  containerd: Summary | null;
  /** berth median / containerd median. */
  ratio: number | null;
  target: string | null;
  met: boolean | null;
  samples: { berth: number[]; containerd: number[] };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timer = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

function msg(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
}

export async function runWorkload(w: Workload, sides: Record<SideName, Side>, env: BenchEnv, defaultRounds: number): Promise<Row> {
  const row: Row = {
    name: w.name,
    description: w.description,
    unit: w.unit,
    better: w.better,
    status: 'ok',
    berth: null,
    containerd: null,
    ratio: null,
    target: w.target?.text ?? null,
    met: null,
    samples: { berth: [], containerd: [] },
  };
  const timeout = w.timeoutMs ?? 120000;
  let order: SideName[] = ['berth', 'containerd'];
  if (w.supported) {
    let s: true | string;
    try {
      s = await withTimeout(w.supported(sides.berth, env), 30000, `${w.name} supported()`);
    } catch (e) {
      s = msg(e);
    }
    // Still measure containerd, so the row shows what berth will be compared against.
    if (s !== true) {
      row.status = 'not yet';
      row.note = s;
      order = ['containerd'];
    }
  }
  const ready: SideName[] = [];
  try {
    for (const n of order) {
      if (w.setup) await withTimeout(w.setup(sides[n], env), timeout, `${w.name} setup (${n})`);
      ready.push(n);
    }
    const rounds = w.rounds ?? defaultRounds;
    for (let r = 0; r < rounds; r++) {
      for (const n of order) {
        const v = await withTimeout(w.sample(sides[n], env, r), timeout, `${w.name} sample (${n})`);
        row.samples[n].push(...(Array.isArray(v) ? v : [v]));
      }
    }
  } catch (e) {
    if (row.status === 'not yet') row.note += `; containerd: ${msg(e)}`;
    else {
      row.status = 'error';
      row.note = msg(e);
    }
  } finally {
    for (const n of ready) {
      try {
        if (w.teardown) await withTimeout(w.teardown(sides[n], env), timeout, `${w.name} teardown (${n})`);
      } catch (e) {
        row.note = `${row.note ? row.note + '; ' : ''}teardown: ${msg(e)}`;
      }
    }
  }
  row.berth = summarize(row.samples.berth);
  row.containerd = summarize(row.samples.containerd);
  // A ratio of a negative (noise-dominated delta) or zero median means nothing: shown as —.
  if (row.berth && row.containerd && row.berth.median > 0 && row.containerd.median > 0) row.ratio = row.berth.median / row.containerd.median;
  if (row.status === 'ok' && w.target && row.berth && row.containerd) row.met = w.target.met(row.berth, row.containerd);
  return row;
}
