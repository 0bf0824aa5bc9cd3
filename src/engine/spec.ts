/**
 * An engine container's OCI spec: containerd's default spec turned into Docker's (capabilities,
 * masked and read-only paths, no /run tmpfs, /dev/shm of --shm-size, no rlimits or
 * no_new_privileges unless asked), the image config merged with the request, and the per-
 * container /etc files, Docker's default seccomp profile. Hooks for what later issues bring:
 * networking (CNI), volumes.
 */
import { readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, notImplemented } from '../core/errors';
import {
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  defaultSeccompProfile,
  defaultSpec,
  parseSeccompProfile,
  type OciSpec,
} from '../tasks/spec';
import { containerCapabilities } from './caps';
import { mergeEnv, processArgs } from './config';
import type { EtcFiles } from './etc-files';
import type { OciMount } from './mounts/plan';
import type { ExecUser } from './user';
import type { SpecNetns } from './network/types';
import type { ContainerConfig, HostConfig } from './types';

/** Where `--init` puts berth's init (the helper binary, bind-mounted read-only), as Docker's /sbin/docker-init. */
export const INIT_PATH = '/sbin/berth-init';
/** Docker (28) masks /proc/interrupts too. */
export const DOCKER_MASKED_PATHS = [...DEFAULT_MASKED_PATHS, '/proc/interrupts'];

export interface SpecInput {
  id: string;
  namespace: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  user: ExecUser;
  etc: EtcFiles;
  /** The berth-helper binary, mounted as the init for `--init`. */
  initBinary: string;
  netns: SpecNetns;
  /** Volumes, binds and tmpfs (mounts/plan.ts), parents first. */
  mounts?: readonly OciMount[];
}

/** The process environment as Docker builds it: PATH, HOSTNAME, TERM (tty), the config's, HOME. */
export function processEnv(c: ContainerConfig, home: string): string[] {
  const base = [DEFAULT_PATH_ENV, `HOSTNAME=${c.hostname}`, ...(c.tty ? ['TERM=xterm'] : [])];
  const env = mergeEnv(base, c.env);
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${home || '/'}`);
  return env;
}

/**
 * `--security-opt`, and Docker's default seccomp profile on every container that is neither
 * privileged nor `seccomp=unconfined`, resolved for its bounding capabilities as dockerd does.
 * `seccomp=<profile JSON>` is a custom profile (the CLI reads the file and sends its text, as
 * Docker's does); apparmor has only `unconfined` here (berth loads no AppArmor profiles).
 */
export function applySecurityOpts(spec: OciSpec, h: HostConfig): void {
  let seccomp: string | undefined;
  for (const raw of h.securityOpt) {
    const [k, v = ''] = raw.includes('=') ? (raw.split(/=(.*)/s, 2) as [string, string]) : (raw.split(/:(.*)/s, 2) as [string, string]);
    if (k === 'no-new-privileges') {
      if (v !== '' && v !== 'true' && v !== 'false') throw invalidArgument(`invalid --security-opt ${raw}: no-new-privileges takes true or false`);
      spec.process!.noNewPrivileges = v !== 'false';
    } else if (k === 'seccomp') {
      if (v !== 'unconfined' && !v.trimStart().startsWith('{'))
        throw invalidArgument(`invalid --security-opt seccomp=${v.slice(0, 80)}: give unconfined or the profile's JSON`);
      seccomp = v;
    } else if (k === 'apparmor') {
      if (v !== 'unconfined') throw notImplemented(`--security-opt ${raw}: apparmor profiles are not supported (only apparmor=unconfined)`);
    } else if (k === 'label') throw notImplemented(`--security-opt ${raw}: SELinux labels are not supported`);
    else throw invalidArgument(`invalid --security-opt: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (h.privileged || seccomp === 'unconfined') return;
  const bounding = spec.process!.capabilities?.bounding ?? [];
  const profile = seccomp === undefined ? defaultSeccompProfile(bounding) : parseSeccompProfile(seccomp, bounding);
  if (profile) spec.linux!.seccomp = profile;
}

/** The network namespace: the host's, or one berthd pinned for the container (or for the one it joins). */
export function applyNetwork(spec: OciSpec, netns: SpecNetns): void {
  const l = spec.linux!;
  if (netns.kind === 'host') l.namespaces = l.namespaces!.filter((n) => n.type !== 'network');
  else l.namespaces = [...l.namespaces!.filter((n) => n.type !== 'network'), { type: 'network', path: netns.path }];
}

/** Docker's privileged mode adds every host device (as it walks /dev). */
function hostDevices(): NonNullable<NonNullable<OciSpec['linux']>['devices']> {
  const out: NonNullable<NonNullable<OciSpec['linux']>['devices']> = [];
  const skip = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/.lxc', '/dev/.udev', '/dev/console', '/dev/ptmx']);
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      if (skip.has(p)) continue;
      try {
        const st = lstatSync(p);
        if (st.isDirectory() && depth < 3) walk(p, depth + 1);
        else if (st.isCharacterDevice() || st.isBlockDevice()) {
          const major = Math.floor(st.rdev / 256) & 0xfff;
          const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
          out.push({ path: p, type: st.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
        }
      } catch {
        /* gone */
      }
    }
  };
  walk('/dev', 0);
  return out;
}

export function buildSpec(i: SpecInput): OciSpec {
  const { config: c, hostConfig: h } = i;
  const args = processArgs(c);
  const spec = defaultSpec({
    id: i.id,
    namespace: i.namespace,
    args: h.init ? [INIT_PATH, '--', ...args] : args,
    terminal: c.tty,
    hostname: c.hostname,
    cwd: c.workingDir || '/',
  });
  const p = spec.process!;
  p.env = processEnv(c, i.user.home);
  p.user = { uid: i.user.uid, gid: i.user.gid, additionalGids: i.user.additionalGids.length ? i.user.additionalGids : undefined };
  delete p.rlimits; // Docker sets none: the process inherits berthd's
  p.noNewPrivileges = false;
  const caps = containerCapabilities(h.capAdd, h.capDrop, h.privileged);
  p.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
  if (c.domainname) spec.domainname = c.domainname;
  spec.root = { path: 'rootfs', readonly: h.readonlyRootfs };

  const etcOpts = ['rbind', 'rprivate', ...(h.readonlyRootfs ? ['ro'] : [])];
  // A user's mount replaces a default one at the same place (Docker skips its own there).
  const user = new Set((i.mounts ?? []).map((m) => m.destination));
  spec.mounts = (spec.mounts ?? [])
    .filter((m) => m.destination !== '/run' && !user.has(m.destination)) // containerd's /run, not Docker's
    .map((m) => (m.destination === '/dev/shm' ? { ...m, options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${h.shmSize}`] } : m))
    .map((m) =>
      h.privileged && (m.destination === '/sys' || m.destination === '/sys/fs/cgroup') ? { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') } : m,
    );
  const etcMounts = [
    { destination: '/etc/resolv.conf', type: 'bind', source: i.etc.resolvConfPath, options: etcOpts },
    { destination: '/etc/hostname', type: 'bind', source: i.etc.hostnamePath, options: etcOpts },
    { destination: '/etc/hosts', type: 'bind', source: i.etc.hostsPath, options: etcOpts },
  ].filter((m) => !user.has(m.destination));
  // The /etc files and the user's mounts, parents first: a volume on /etc gets the hosts file on it.
  const depth = (d: string) => d.split('/').filter(Boolean).length;
  spec.mounts.push(...[...etcMounts, ...(i.mounts ?? []).map((m) => ({ ...m }))].sort((a, b) => depth(a.destination) - depth(b.destination)));
  if (h.init) spec.mounts.push({ destination: INIT_PATH, type: 'bind', source: i.initBinary, options: ['bind', 'ro', 'nosuid', 'nodev'] });

  const l = spec.linux!;
  l.maskedPaths = h.privileged ? [] : [...DOCKER_MASKED_PATHS];
  l.readonlyPaths = h.privileged ? [] : [...DEFAULT_READONLY_PATHS];
  const r = (l.resources ??= {});
  if (h.memory > 0) r.memory = { limit: h.memory };
  if (h.nanoCpus > 0) r.cpu = { quota: Math.round((h.nanoCpus * 100_000) / 1e9), period: 100_000 };
  if (h.pidsLimit > 0) r.pids = { limit: h.pidsLimit };
  if (h.privileged) {
    l.devices = hostDevices();
    r.devices = [{ allow: true, access: 'rwm' }];
  }
  applyNetwork(spec, i.netns);
  applySecurityOpts(spec, h);
  return spec;
}
