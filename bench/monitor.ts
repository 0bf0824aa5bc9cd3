/**
 * Monitor footprint and launch latency: starts N containers with berth-helper (Docker-default
 * spec over a busybox rootfs, `sleep`), reports each monitor's VmRSS and the create+start
 * (launch-to-exec) latency, beside `crun create` + `crun start` for the same rootfs and spec.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/x && node /tmp/x/bench/monitor.js [N]
 *
 * Needs root. crun refuses a v1/v2 hybrid host; runc is used there instead (same spec, relative
 * cgroupsPath so its cgroups also land below our own).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createProcess, removeStateDir, type CreatedProcess } from '../src/tasks/helper';
import { defaultSpec, specToPlan } from '../src/tasks/spec';
import { makeBusyboxRootfs } from '../test/helpers/busybox-rootfs';

/** Runs a runtime command with stdio ignored: `create` leaves the container holding its stdio. */
function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}`))));
  });
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

async function vmRssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 10);
  const rootfs = await makeBusyboxRootfs();
  const stateRoot = await mkdtemp(join(tmpdir(), 'berth-bench-state-'));
  const berthMs: number[] = [];
  const rss: number[] = [];
  const ociMs: number[] = [];
  const hybrid = existsSync('/sys/fs/cgroup/unified') && !existsSync('/sys/fs/cgroup/cgroup.controllers');
  const runtime = hybrid ? 'runc' : 'crun';
  const running: { c: CreatedProcess; stateDir: string }[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const id = `bench-${process.pid}-${i}`;
      const spec = defaultSpec({ id, namespace: 'bench', args: ['sleep', '600'] });
      const { plan } = specToPlan(spec, { id, stateDir: join(stateRoot, id), rootfs: rootfs.rootfs });
      const t0 = performance.now();
      const c = await createProcess(plan);
      await c.start();
      berthMs.push(performance.now() - t0);
      running.push({ c, stateDir: plan.stateDir });
    }
    for (const { c } of running) rss.push(await vmRssKiB(c.helperPid));

    // crun refuses a v1/v2 hybrid ("cgroups in hybrid mode not supported"); runc stands in there. A relative cgroupsPath puts runc's cgroups below its own, like berth's.
    for (let i = 0; i < n; i++) {
      const id = `bench-oci-${process.pid}-${i}`;
      const spec = defaultSpec({ id, namespace: 'bench', args: ['sleep', '600'] });
      spec.root = { path: rootfs.rootfs, readonly: false };
      spec.linux!.cgroupsPath = `berth-bench/${id}`;
      const bundle = join(stateRoot, id);
      await run('mkdir', ['-p', bundle]);
      await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
      const t0 = performance.now();
      await run(runtime, ['create', '--bundle', bundle, id]);
      await run(runtime, ['start', id]);
      ociMs.push(performance.now() - t0);
      await run(runtime, ['delete', '-f', id]);
    }
  } finally {
    for (const { c, stateDir } of running) {
      await c.monitor.kill('SIGKILL').catch(() => undefined);
      await c.monitor.wait().catch(() => undefined);
      await removeStateDir(stateDir).catch(() => undefined);
    }
    await rm(stateRoot, { recursive: true, force: true });
    await rootfs.remove();
    // The OCI runtime leaves its (now empty) parent `berth-bench` behind in every hierarchy.
    for (const line of (await readFile('/proc/self/cgroup', 'utf8')).split('\n').filter(Boolean)) {
      const [, ctrls, own] = line.split(':');
      const dir = ctrls === '' ? 'unified' : ctrls.replace(/^name=/, '');
      await rmdir(join('/sys/fs/cgroup', dir, own, 'berth-bench')).catch(() => undefined);
    }
  }
  const row = (name: string, xs: number[], unit: string) =>
    `${name.padEnd(34)} ${quantile(xs, 0.5).toFixed(2).padStart(9)} ${quantile(xs, 0.95).toFixed(2).padStart(9)}  ${unit}`;
  console.log(`berth-helper monitor bench, N=${n}`);
  console.log(`${'metric'.padEnd(34)} ${'median'.padStart(9)} ${'p95'.padStart(9)}`);
  console.log(row('monitor VmRSS per container', rss, 'KiB'));
  console.log(row('berth create+start (to exec)', berthMs, 'ms'));
  console.log(row(`${runtime} create+start`, ociMs, 'ms'));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
