/**
 * BERTH_STARTUP_TRACE=1: berthd writes, once it serves, each start-up phase's wall time and CPU
 * time (since exec) to stderr as one JSON line, for profiling start-up (bench/README).
 */
const on = !!process.env.BERTH_STARTUP_TRACE;
const marks: Array<{ name: string; ms: number; cpuMs: number }> = [];

export function mark(name: string): void {
  if (!on) return;
  const c = process.cpuUsage();
  marks.push({ name, ms: Math.round(performance.now() * 10) / 10, cpuMs: Math.round((c.user + c.system) / 100) / 10 });
}

export function reportStartup(): void {
  if (on) process.stderr.write(JSON.stringify({ startup: marks }) + '\n');
}
