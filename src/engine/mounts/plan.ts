/**
 * Which mounts a new container gets, in Docker's order (moby's registerMountPoints, then the
 * image's volumes): `--volumes-from` first, then `-v`, then `--mount` and `--tmpfs` (a target
 * given twice among these is "Duplicate mount point"), each overriding what came before at the
 * same target; then every VOLUME of the image not already covered becomes an anonymous volume.
 * Then the OCI mounts, once volumes have directories: sorted so that a parent is mounted before
 * what is mounted inside it.
 */
import { invalidArgument, notImplemented } from '../../core/errors';
import { cleanTarget } from './parse';
import type { MountSpec } from './types';

export interface MountRequest {
  /** Each `--volumes-from` container's own mounts (its volumes by name), with the flag's mode. */
  volumesFrom?: Array<{ mode?: 'ro' | 'rw'; mounts: readonly MountSpec[] }>;
  /** `-v`, in order. */
  binds?: readonly MountSpec[];
  /** `--mount`, in order. */
  mounts?: readonly MountSpec[];
  /** `--tmpfs`. */
  tmpfs?: readonly MountSpec[];
  /** The image's VOLUMEs (config.Volumes keys). */
  imageVolumes?: readonly string[];
}

export function planMounts(r: MountRequest): MountSpec[] {
  const byTarget = new Map<string, MountSpec>();
  for (const from of r.volumesFrom ?? [])
    for (const m of from.mounts) {
      if (m.type === 'tmpfs') continue; // Docker copies mount points, and tmpfs is not one
      byTarget.set(m.target, { ...m, readOnly: from.mode ? from.mode === 'ro' : m.readOnly, copyData: false, origin: 'volumes-from' });
    }
  const given = new Set<string>();
  for (const m of [...(r.binds ?? []), ...(r.mounts ?? []), ...(r.tmpfs ?? [])]) {
    if (given.has(m.target)) throw invalidArgument(`Duplicate mount point: ${m.target}`);
    if (m.subpath !== undefined) throw notImplemented(`volume-subpath (${m.target}) is not supported yet`);
    given.add(m.target);
    byTarget.set(m.target, m);
  }
  for (const v of r.imageVolumes ?? []) {
    const target = cleanTarget(v);
    if (target === '/' || byTarget.has(target)) continue;
    byTarget.set(target, { type: 'volume', source: '', target, readOnly: false, copyData: true, origin: 'image' });
  }
  return [...byTarget.values()];
}

/** Bind sources that `-v` creates when missing (Docker's legacy behaviour; `--mount` refuses them). */
export function bindSourcesToCreate(specs: readonly MountSpec[]): string[] {
  return specs.filter((m) => m.type === 'bind' && m.origin === 'bind-flag').map((m) => m.source);
}

/** `--mount type=bind` with a missing source: the daemon's error. */
export function checkBindSources(specs: readonly MountSpec[], exists: (path: string) => boolean): void {
  for (const m of specs)
    if (m.type === 'bind' && m.origin === 'mount-flag' && !exists(m.source))
      throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** tmpfs options: Docker's defaults, then the mount's own, a later flag overriding its opposite (mount.MergeTmpfsOptions). */
function tmpfsOptions(m: MountSpec, size?: number): string[] {
  const opposite: Record<string, string> = {
    exec: 'noexec',
    noexec: 'exec',
    suid: 'nosuid',
    nosuid: 'suid',
    dev: 'nodev',
    nodev: 'dev',
    ro: 'rw',
    rw: 'ro',
    atime: 'noatime',
    noatime: 'atime',
  };
  const out: string[] = [];
  const add = (o: string) => {
    const key = o.includes('=') ? o.slice(0, o.indexOf('=') + 1) : o;
    const drop = (x: string) => x === opposite[o] || x === o || (key.endsWith('=') && x.startsWith(key));
    for (let i = out.length - 1; i >= 0; i--) if (drop(out[i]!)) out.splice(i, 1);
    out.push(o);
  };
  for (const o of ['noexec', 'nosuid', 'nodev', 'rprivate', ...(m.readOnly ? ['ro'] : []), ...(m.tmpfsOptions ?? [])]) add(o);
  if (size !== undefined) add(`size=${size}`);
  if (m.tmpfsMode !== undefined) add(`mode=${m.tmpfsMode.toString(8)}`);
  return out;
}

/**
 * The OCI mounts for planned specs. `hostPath` gives each volume's directory (by its name, the
 * anonymous ones named by now); `tmpfsSize` parses a tmpfs size with Docker's units.
 */
export function ociMounts(specs: readonly MountSpec[], hostPath: (volume: string) => string, tmpfsSize: (s: string) => number): OciMount[] {
  const depth = (t: string) => t.split('/').filter(Boolean).length;
  return [...specs]
    .sort((a, b) => depth(a.target) - depth(b.target))
    .map((m) => {
      if (m.type === 'tmpfs')
        return {
          destination: m.target,
          type: 'tmpfs',
          source: 'tmpfs',
          options: tmpfsOptions(m, m.tmpfsSize !== undefined ? tmpfsSize(m.tmpfsSize) : undefined),
        };
      if (m.type === 'volume' && !m.source) throw invalidArgument(`mount ${m.target}: its volume has no name yet`);
      const source = m.type === 'volume' ? hostPath(m.source) : m.source;
      return {
        destination: m.target,
        type: 'bind',
        source,
        options: [m.nonRecursive ? 'bind' : 'rbind', m.readOnly ? 'ro' : 'rw', m.propagation ?? 'rprivate'],
      };
    });
}
