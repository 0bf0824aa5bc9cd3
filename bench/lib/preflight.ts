/**
 * What the harness compares against: Debian packages, installed with apt-get when missing (as root),
 * so `npm run bench` works on a fresh machine. Nothing is installed when all are present.
 */
import { existsSync } from 'node:fs';
import { run } from '../../test/helpers/ctr';

/** binary → Debian package providing it. */
export const REQUIRED: Record<string, string> = {
  '/usr/bin/containerd': 'containerd',
  '/usr/bin/ctr': 'containerd',
  '/usr/sbin/runc': 'runc',
  '/usr/bin/crun': 'crun',
  '/usr/bin/docker-registry': 'docker-registry',
  '/usr/bin/skopeo': 'skopeo',
  '/usr/bin/umoci': 'umoci',
  '/bin/busybox': 'busybox-static',
  '/usr/sbin/debootstrap': 'debootstrap',
  '/usr/bin/getfattr': 'attr',
};

export function missingPackages(): string[] {
  const alt = (p: string) => [p, p.replace('/usr/sbin/', '/usr/bin/'), p.replace('/bin/', '/usr/bin/')];
  return [
    ...new Set(
      Object.entries(REQUIRED)
        .filter(([bin]) => !alt(bin).some(existsSync))
        .map(([, pkg]) => pkg),
    ),
  ];
}

export async function ensurePackages(log: (m: string) => void): Promise<void> {
  const missing = missingPackages();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing packages ${missing.join(' ')}; install them or run as root`);
  log(`installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, timeoutMs: 300000 });
  const r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 600000 });
  if (r.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed: ${r.stderr.slice(-500)}`);
}
