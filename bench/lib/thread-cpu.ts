/**
 * CPU time per process and thread during one experiment, for profiling (bench/pull-trace.ts
 * --threads): polls /proc/<pid>/task/<tid>/stat of the given root processes and their
 * descendants (berth-unpack children come and go) every `periodMs` and keeps each thread's last
 * utime+stime, so a short-lived thread loses at most one period. Threads are grouped by process
 * name and thread name (`berthd/main`, `berthd/libuv-worker`, `berth-unpack/main` summed over all berth-unpack
 * processes...).
 */
import { readdirSync, readFileSync } from 'node:fs';

const HZ = 100;

interface StatLine {
  comm: string;
  ppid: number;
  ticks: number;
}

function readStat(path: string): StatLine | undefined {
  try {
    const f = readFileSync(path, 'utf8');
    const open = f.indexOf('(');
    const close = f.lastIndexOf(')');
    const v = f.slice(close + 2).split(' ');
    return { comm: f.slice(open + 1, close), ppid: Number(v[1]), ticks: Number(v[11]) + Number(v[12]) };
  } catch {
    return undefined;
  }
}

export interface ThreadCpu {
  /** CPU seconds per `process/thread` group, largest first. */
  groups: Array<{ name: string; seconds: number }>;
  total: number;
}

export class ThreadSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly base = new Map<string, number>();
  private readonly last = new Map<string, { group: string; ticks: number }>();

  constructor(
    private readonly roots: Map<number, string>,
    private readonly periodMs = 20,
  ) {}

  private pids(): Array<{ pid: number; name: string }> {
    const out: Array<{ pid: number; name: string }> = [];
    const parent = new Map<number, number>();
    const comm = new Map<number, string>();
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const s = readStat(`/proc/${d}/stat`);
      if (s) {
        parent.set(Number(d), s.ppid);
        comm.set(Number(d), s.comm);
      }
    }
    for (const pid of parent.keys()) {
      let p: number | undefined = pid;
      for (let depth = 0; p && depth < 8; depth++, p = parent.get(p)) {
        const root = this.roots.get(p);
        if (root === undefined) continue;
        out.push({ pid, name: p === pid ? root : comm.get(pid)! });
        break;
      }
    }
    return out;
  }

  private sample(into: Map<string, { group: string; ticks: number }> | Map<string, number>, asBase: boolean): void {
    for (const { pid, name } of this.pids()) {
      let tids: string[];
      try {
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        const s = readStat(`/proc/${pid}/task/${tid}/stat`);
        if (!s) continue;
        const key = `${pid}/${tid}`;
        if (asBase) (into as Map<string, number>).set(key, s.ticks);
        else (into as Map<string, { group: string; ticks: number }>).set(key, { group: `${name}/${tid === String(pid) ? 'main' : s.comm}`, ticks: s.ticks });
      }
    }
  }

  start(): void {
    this.sample(this.base, true);
    this.timer = setInterval(() => this.sample(this.last, false), this.periodMs);
  }

  stop(): ThreadCpu {
    clearInterval(this.timer);
    this.sample(this.last, false);
    const groups = new Map<string, number>();
    for (const [key, { group, ticks }] of this.last) {
      const sec = (ticks - (this.base.get(key) ?? 0)) / HZ;
      if (sec > 0) groups.set(group, (groups.get(group) ?? 0) + sec);
    }
    const list = [...groups].map(([name, seconds]) => ({ name, seconds })).sort((a, b) => b.seconds - a.seconds);
    return { groups: list, total: list.reduce((a, g) => a + g.seconds, 0) };
  }
}
