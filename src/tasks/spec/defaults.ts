/**
 * A default OCI spec as containerd's `oci.WithDefaults` + `WithDefaultUnixDevices` produce,
 * with Docker's default capability set (14 caps, CapEff 00000000a80425fb) and masked/readonly
 * paths. Callers adjust the returned object (it is a fresh copy each call).
 */
import type { OciSpec } from './types';

export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
  '/proc/scsi',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const dev = (path: string, major: number, minor: number) => ({ type: 'c' as const, path, major, minor, fileMode: 0o666, uid: 0, gid: 0 });
const allow = (major: number | null, minor: number | null) => ({ allow: true, type: 'c' as const, major, minor, access: 'rwm' });

export interface DefaultSpecOptions {
  /** Container id; the cgroups path becomes `/<namespace>/<id>`. */
  id: string;
  namespace?: string;
  args?: string[];
  env?: string[];
  cwd?: string;
  terminal?: boolean;
  hostname?: string;
}

export function defaultSpec(opts: DefaultSpecOptions): OciSpec {
  const caps = [...DEFAULT_CAPABILITIES];
  return {
    ociVersion: '1.1.0',
    process: {
      terminal: opts.terminal ?? false,
      user: { uid: 0, gid: 0 },
      args: opts.args ?? ['sh'],
      env: [DEFAULT_PATH_ENV, ...(opts.env ?? [])],
      cwd: opts.cwd ?? '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: opts.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    ],
    linux: {
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
      cgroupsPath: `/${opts.namespace ?? 'default'}/${opts.id}`,
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }, { type: 'cgroup' }],
      devices: [
        dev('/dev/null', 1, 3),
        dev('/dev/random', 1, 8),
        dev('/dev/full', 1, 7),
        dev('/dev/tty', 5, 0),
        dev('/dev/zero', 1, 5),
        dev('/dev/urandom', 1, 9),
      ],
      resources: {
        devices: [
          { allow: false, access: 'rwm' },
          allow(1, 3),
          allow(1, 8),
          allow(1, 7),
          allow(5, 0),
          allow(1, 5),
          allow(1, 9),
          allow(5, 1),
          allow(136, null),
          allow(5, 2),
          allow(10, 200),
        ],
      },
    },
  };
}
