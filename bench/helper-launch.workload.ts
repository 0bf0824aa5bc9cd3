/**
 * Issue 4: launching one container below containerd's layer. berth: `createProcess` + `start` of
 * berth-helper (the monitor that stays as the container's parent) with the Docker-default spec over
 * a busybox rootfs, to the container's exec; the containerd column: the OCI runtime containerd's
 * shim drives, `runc create` + `runc start` of the same spec and rootfs (crun refuses this
 * hybrid-cgroup host; it is used where it works). The standalone bench/monitor.ts prints the same
 * with the monitor's RSS, which the table has from 100 real containers (detached-monitor-rss).
 * Cgroups: both nest below this process's own cgroup, under a parent removed at teardown.
 * `helper-launch-seccomp`: the same with Docker's default seccomp profile in the spec (berth: the
 * program compiled once beforehand, as berthd caches it; runc: libseccomp at every create).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createProcess, helperPath, removeStateDir } from '../src/tasks/helper';
import { SeccompCompiler, type SeccompFilter } from '../src/tasks/helper/seccomp-compiler';
import { DEFAULT_CAPABILITIES, defaultSeccompProfile, defaultSpec, specToPlan, toSeccompRequest, type OciSpec } from '../src/tasks/spec';
import { makeBusyboxRootfs, type BusyboxRootfs } from '../test/helpers/busybox-rootfs';
import { OCI_RUNTIME, ociRuntime, removeOwnCgroupChild } from './lib/oci-runtime';
import { timeMs } from './lib/stats';
import type { BenchEnv, Workload } from './lib/workload';

const RUNTIME = OCI_RUNTIME;
const CG_BERTH = `berth-bench-helper-${process.pid}`;
const CG_OCI = `berth-bench-${RUNTIME}-${process.pid}`;
const LAUNCHES_PER_SAMPLE = 3;

const rootfses = new WeakMap<BenchEnv, Promise<BusyboxRootfs>>();
function rootfs(env: BenchEnv): Promise<BusyboxRootfs> {
  let p = rootfses.get(env);
  if (!p) rootfses.set(env, (p = makeBusyboxRootfs(env.workDir)));
  return p;
}

const compiler = new SeccompCompiler();
const seccompProfile = () => defaultSeccompProfile(DEFAULT_CAPABILITIES);

function launchWorkload(name: string, withSeccomp: boolean, target?: Workload['target']): Workload {
  let filter: SeccompFilter | null = null;
  return {
    name,
    description: `berth-helper create+start (to exec) vs \`${RUNTIME} create\` + \`${RUNTIME} start\` (ctrd column), same spec and busybox rootfs${withSeccomp ? ", with Docker's default seccomp profile" : ''}`,
    unit: 'ms',
    better: 'lower',
    target,
    supported: async () => (existsSync(helperPath()) ? true : `${helperPath()} is not built (make -C native)`),
    async setup(side, env) {
      await rootfs(env);
      if (withSeccomp && side.name === 'berth') filter = await compiler.compile(toSeccompRequest(seccompProfile())!);
    },
    async sample(side, env, round) {
      const { rootfs: dir } = await rootfs(env);
      const out: number[] = [];
      for (let k = 0; k < LAUNCHES_PER_SAMPLE; k++) {
        const id = `hl-${process.pid}-${side.name}-${round}-${k}`;
        const spec: OciSpec = defaultSpec({ id, namespace: 'bench', args: ['sleep', '600'] });
        if (withSeccomp) spec.linux!.seccomp = seccompProfile();
        const stateDir = join(env.workDir, name, id);
        if (side.name === 'berth') {
          const { plan } = specToPlan(spec, { id, stateDir, rootfs: dir, cgroupParent: CG_BERTH, seccomp: filter });
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
                await ociRuntime(['create', '--bundle', stateDir, id]);
                await ociRuntime(['start', id]);
              }),
            );
          } finally {
            await ociRuntime(['delete', '-f', id]).catch(() => undefined);
          }
        }
      }
      return out;
    },
    async teardown(side) {
      await removeOwnCgroupChild(side.name === 'berth' ? CG_BERTH : CG_OCI);
    },
  };
}

export const helperLaunch = launchWorkload('helper-launch', false, { text: `< ${RUNTIME} create+start`, met: (b, c) => b.median < c.median });
export const helperLaunchSeccomp = launchWorkload('helper-launch-seccomp', true);
