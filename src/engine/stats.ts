/**
 * `stats`: one sample of a running container as `docker stats` computes its columns: CPU % from
 * the container's and the host's CPU time between two samples (× online CPUs), memory usage
 * without the inactive file cache, the limit (the host's memory when none), pids, network bytes
 * of its namespace, block I/O bytes of its cgroup.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import type { TaskMetric } from '../tasks';
import type { StatsSample } from './types';

const HZ = 100;
const num = (v: unknown): number => (typeof v === 'string' || typeof v === 'number' ? Number(v) || 0 : 0);
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

async function systemCpuNs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((s, v) => s + Number(v), 0);
  return (ticks * 1e9) / HZ;
}

async function netBytes(pid: number): Promise<{ rx: number; tx: number }> {
  let rx = 0;
  let tx = 0;
  try {
    for (const l of (await readFile(`/proc/${pid}/net/dev`, 'utf8')).split('\n').slice(2)) {
      const [name, rest] = l.split(':');
      if (!rest || name!.trim() === 'lo') continue;
      const f = rest.trim().split(/\s+/);
      rx += Number(f[0]);
      tx += Number(f[8]);
    }
  } catch {
    /* gone */
  }
  return { rx, tx };
}

async function blkBytes(pid: number): Promise<{ read: number; write: number }> {
  let read = 0;
  let write = 0;
  try {
    for (const l of (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n')) {
      const [, ctrls, path] = l.split(':');
      if (ctrls === '' && path) {
        const text = await readFile(join('/sys/fs/cgroup', path, 'io.stat'), 'utf8').catch(() => '');
        for (const m of text.matchAll(/rbytes=(\d+) wbytes=(\d+)/g)) {
          read += Number(m[1]);
          write += Number(m[2]);
        }
      } else if (ctrls?.split(',').includes('blkio') && path) {
        const text = await readFile(join('/sys/fs/cgroup/blkio', path, 'blkio.throttle.io_service_bytes_recursive'), 'utf8').catch(() => '');
        for (const m of text.matchAll(/^\S+ (Read|Write) (\d+)$/gm)) {
          if (m[1] === 'Read') read += Number(m[2]);
          else write += Number(m[2]);
        }
      }
    }
  } catch {
    /* gone */
  }
  return { read, write };
}

/** A sample from the task's cgroup metrics; `prev` gives the CPU percentage. */
export async function sample(metric: TaskMetric, pid: number, prev?: StatsSample): Promise<StatsSample> {
  const d = metric.data;
  const mem = obj(d.memory);
  let cpuUsageNs: number;
  let usage: number;
  let limit: number;
  if (metric.typeName === 'io.containerd.cgroups.v1.Metrics') {
    cpuUsageNs = num(obj(obj(d.cpu).usage).total);
    usage = num(obj(mem.usage).usage) - num(mem.total_inactive_file);
    limit = num(obj(mem.usage).limit);
  } else {
    cpuUsageNs = num(obj(d.cpu).usage_usec) * 1000;
    usage = num(mem.usage);
    limit = num(mem.usage_limit);
  }
  const host = totalmem();
  if (!limit || limit > host) limit = host;
  const [systemCpu, net, blk] = await Promise.all([systemCpuNs(), netBytes(pid), blkBytes(pid)]);
  const cpus = availableParallelism();
  let cpuPercent = 0;
  if (prev) {
    const dc = cpuUsageNs - prev.cpuUsageNs;
    const ds = systemCpu - prev.systemCpuNs;
    if (dc > 0 && ds > 0) cpuPercent = (dc / ds) * cpus * 100;
  }
  usage = Math.max(0, usage);
  return {
    read: metric.timestamp,
    cpuUsageNs,
    systemCpuNs: systemCpu,
    onlineCpus: cpus,
    cpuPercent,
    memoryUsage: usage,
    memoryLimit: limit,
    memoryPercent: limit ? (usage / limit) * 100 : 0,
    pids: num(obj(d.pids).current),
    netRx: net.rx,
    netTx: net.tx,
    blkRead: blk.read,
    blkWrite: blk.write,
  };
}
