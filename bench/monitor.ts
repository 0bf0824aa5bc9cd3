/**
 * Monitor footprint and launch latency: starts N containers with berth-helper (Docker-default
 * spec over a busybox rootfs, `sleep`), reports each monitor's VmRSS and the create+start
 * (launch-to-exec) latency, beside `crun create` + `crun start` for the same rootfs and spec.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/monitor.js [N]
 *
 * Needs root. The OCI runtime is chosen by lib/oci-runtime.ts (runc where crun cannot run).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createProcess, removeStateDir, type CreatedProcess } from '../src/tasks/helper';
import { defaultSpec, specToPlan } from '../src/tasks/spec';
import { makeBusyboxRootfs } from '../test/helpers/busybox-rootfs';
import { OCI_RUNTIME, ociRuntime, removeOwnCgroupChild } from './lib/oci-runtime';
import { summarize } from './lib/stats';

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
  const runtime = OCI_RUNTIME;
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

    for (let i = 0; i < n; i++) {
      const id = `bench-oci-${process.pid}-${i}`;
      const spec = defaultSpec({ id, namespace: 'bench', args: ['sleep', '600'] });
      spec.root = { path: rootfs.rootfs, readonly: false };
      spec.linux!.cgroupsPath = `berth-bench/${id}`;
      const bundle = join(stateRoot, id);
      await mkdir(bundle, { recursive: true });
      await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
      const t0 = performance.now();
      await ociRuntime(['create', '--bundle', bundle, id]);
      await ociRuntime(['start', id]);
      ociMs.push(performance.now() - t0);
      await ociRuntime(['delete', '-f', id]);
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
    await removeOwnCgroupChild('berth-bench');
  }
  const row = (name: string, xs: number[], unit: string) => {
    const s = summarize(xs);
    return `${name.padEnd(34)} ${(s?.median ?? NaN).toFixed(2).padStart(9)} ${(s?.p95 ?? NaN).toFixed(2).padStart(9)}  ${unit}`;
  };
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
