/**
 * Issue 4: launching one container below containerd's layer. berth: `createProcess` + `start` of
 * berth-helper (the monitor that stays as the container's parent) with the Docker-default spec over
 * a busybox rootfs, to the container's exec; the containerd column: the OCI runtime containerd's
 * shim drives, `runc create` + `runc start` of the same spec and rootfs (crun refuses this
 * hybrid-cgroup host; it is used where it works). The standalone bench/monitor.ts prints the same
 * with the monitor's RSS, which the table has from 100 real containers (detached-monitor-rss).
 * Cgroups: both nest below this process's own cgroup, under a parent removed at teardown.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rmdir, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createProcess, helperPath, removeStateDir } from '../src/tasks/helper';
import { defaultSpec, specToPlan } from '../src/tasks/spec';
import { makeBusyboxRootfs, type BusyboxRootfs } from '../test/helpers/busybox-rootfs';
import { timeMs } from './lib/stats';
import type { BenchEnv, Workload } from './lib/workload';

const HYBRID = existsSync('/sys/fs/cgroup/unified') && !existsSync('/sys/fs/cgroup/cgroup.controllers');
const RUNTIME = HYBRID || !existsSync('/usr/bin/crun') ? 'runc' : 'crun';
const CG_BERTH = `berth-bench-helper-${process.pid}`;
const CG_OCI = `berth-bench-${RUNTIME}-${process.pid}`;
const LAUNCHES_PER_SAMPLE = 3;

const rootfses = new WeakMap<BenchEnv, Promise<BusyboxRootfs>>();
function rootfs(env: BenchEnv): Promise<BusyboxRootfs> {
  let p = rootfses.get(env);
  if (!p) rootfses.set(env, (p = makeBusyboxRootfs(env.workDir)));
  return p;
}

/** Runs a runtime command with stdio ignored: `create` leaves the container holding its stdio. */
function runtime(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(RUNTIME, args, { stdio: 'ignore' });
    const t = setTimeout(() => c.kill('SIGKILL'), 30000);
    c.once('error', reject);
    c.once('exit', (code) => {
      clearTimeout(t);
      code === 0 ? resolve() : reject(new Error(`${RUNTIME} ${args.join(' ')}: exit ${code}`));
    });
  });
}

/** Removes `name` (and its empty children) below our own cgroup in every hierarchy. */
async function removeCgroupParent(name: string): Promise<void> {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
    const [, ctrls, own] = line.split(':');
    const dir = join('/sys/fs/cgroup', ctrls === '' ? (HYBRID ? 'unified' : '') : ctrls!.replace(/^name=/, ''), own!, name);
    if (!existsSync(dir)) continue;
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await rmdir(join(dir, e.name)).catch(() => undefined);
    await rmdir(dir).catch(() => undefined);
  }
}

export const helperLaunch: Workload = {
  name: 'helper-launch',
  description: `berth-helper create+start (to exec) vs \`${RUNTIME} create\` + \`${RUNTIME} start\` (ctrd column), same spec and busybox rootfs`,
  unit: 'ms',
  better: 'lower',
  target: { text: `< ${RUNTIME} create+start`, met: (b, c) => b.median < c.median },
  supported: async () => (existsSync(helperPath()) ? true : `${helperPath()} is not built (make -C native)`),
  async setup(_side, env) {
    await rootfs(env);
  },
  async sample(side, env, round) {
    const { rootfs: dir } = await rootfs(env);
    const out: number[] = [];
    for (let k = 0; k < LAUNCHES_PER_SAMPLE; k++) {
      const id = `hl-${process.pid}-${side.name}-${round}-${k}`;
      const spec = defaultSpec({ id, namespace: 'bench', args: ['sleep', '600'] });
      const stateDir = join(env.workDir, 'helper-launch', id);
      if (side.name === 'berth') {
        const { plan } = specToPlan(spec, { id, stateDir, rootfs: dir, cgroupParent: CG_BERTH });
        let c: Awaited<ReturnType<typeof createProcess>> | undefined;
        try {
          out.push(
            await timeMs(async () => {
              c = await createProcess(plan);
              await c.start();
            }),
          );
        } finally {
          if (c) {
            await c.monitor.kill('SIGKILL').catch(() => undefined);
            await c.monitor.wait().catch(() => undefined);
          }
          await removeStateDir(stateDir).catch(() => undefined);
        }
      } else {
        spec.root = { path: dir, readonly: false };
        spec.linux!.cgroupsPath = `${CG_OCI}/${id}`; // relative: below runc's (our) own cgroup
        await mkdir(stateDir, { recursive: true });
        await writeFile(join(stateDir, 'config.json'), JSON.stringify(spec));
        try {
          out.push(
            await timeMs(async () => {
              await runtime(['create', '--bundle', stateDir, id]);
              await runtime(['start', id]);
            }),
          );
        } finally {
          await runtime(['delete', '-f', id]).catch(() => undefined);
        }
      }
    }
    return out;
  },
  async teardown(side) {
    await removeCgroupParent(side.name === 'berth' ? CG_BERTH : CG_OCI);
  },
};
