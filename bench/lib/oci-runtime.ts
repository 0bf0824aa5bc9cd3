/**
 * The OCI runtime berth's helper is compared with, and the cgroup housekeeping around it.
 * crun refuses a v1/v2 hybrid host ("cgroups in hybrid mode not supported"); runc stands in
 * there and wherever crun is not installed. A relative cgroupsPath puts the runtime's cgroups
 * below our own cgroup, like berth's.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

const HYBRID = existsSync('/sys/fs/cgroup/unified') && !existsSync('/sys/fs/cgroup/cgroup.controllers');
export const OCI_RUNTIME = HYBRID || !existsSync('/usr/bin/crun') ? 'runc' : 'crun';

/** Runs the runtime with stdio ignored (`create` leaves the container holding its stdio), killed after 30 s. */
export function ociRuntime(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(OCI_RUNTIME, args, { stdio: 'ignore' });
    const t = setTimeout(() => c.kill('SIGKILL'), 30000);
    c.once('error', reject);
    c.once('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve();
      else reject(new Error(`${OCI_RUNTIME} ${args.join(' ')}: exit ${code}`));
    });
  });
}

/** Removes `name` (and its empty children) below our own cgroup in every hierarchy. */
export async function removeOwnCgroupChild(name: string): Promise<void> {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
    const [, ctrls, own] = line.split(':');
    const dir = join('/sys/fs/cgroup', ctrls === '' ? (HYBRID ? 'unified' : '') : ctrls!.replace(/^name=/, ''), own!, name);
    if (!existsSync(dir)) continue;
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await rmdir(join(dir, e.name)).catch(() => undefined);
    await rmdir(dir).catch(() => undefined);
  }
}
