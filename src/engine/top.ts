/**
 * `top`: the container's processes (every pid in its cgroup) in `ps -ef`'s columns, read from
 * /proc on the host as Docker's `docker top` (which runs ps there) shows them.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { uptime } from 'node:os';
import type { TopResult } from './types';

const TITLES = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'];
const HZ = 100; // USER_HZ on Linux

let users: Map<number, string> | undefined;
function userName(uid: number): string {
  if (!users) {
    users = new Map();
    try {
      for (const l of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = l.split(':');
        if (f.length > 2 && /^\d+$/.test(f[2]!)) users.set(Number(f[2]), f[0]!);
      }
    } catch {
      /* numbers then */
    }
  }
  return users.get(uid) ?? String(uid);
}

const pad2 = (n: number) => String(n).padStart(2, '0');

function tty(nr: number): string {
  const major = (nr >> 8) & 0xfff;
  const minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
  if (major === 136) return `pts/${minor}`;
  if (major === 4) return `tty${minor}`;
  return '?';
}

async function row(pid: number, bootMs: number): Promise<string[] | undefined> {
  try {
    const [stat, status, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/cmdline`),
    ]);
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    const ppid = Number(f[1]);
    const ttyNr = Number(f[4]);
    const cpuTicks = Number(f[11]) + Number(f[12]);
    const startMs = bootMs + (Number(f[19]) / HZ) * 1000;
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const elapsed = Math.max(1, (Date.now() - startMs) / 1000);
    const c = Math.floor((cpuTicks / HZ / elapsed) * 100);
    const start = new Date(startMs);
    const stime =
      Date.now() - startMs < 86_400_000
        ? `${pad2(start.getHours())}:${pad2(start.getMinutes())}`
        : start.toLocaleString('en-US', { month: 'short', day: '2-digit' }).replace(' ', '');
    const secs = Math.floor(cpuTicks / HZ);
    const time = `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}`;
    const args = cmdline.toString('utf8').split('\0').filter(Boolean);
    return [userName(uid), String(pid), String(ppid), String(c), stime, tty(ttyNr), time, args.length ? args.join(' ') : `[${comm}]`];
  } catch {
    return undefined; // exited meanwhile
  }
}

export async function topOf(pids: readonly number[]): Promise<TopResult> {
  const bootMs = Date.now() - uptime() * 1000;
  const rows = await Promise.all([...pids].sort((a, b) => a - b).map((p) => row(p, bootMs)));
  return { titles: [...TITLES], processes: rows.filter((r): r is string[] => r !== undefined) };
}
