/**
 * Where berth makes containers' cgroups: below the daemon's own cgroup, never outside it.
 *
 * cgroup v1: the own cgroup of every hierarchy is the base.
 * cgroup v2: a cgroup that holds processes cannot hand controllers to its children (the "no
 * internal processes" rule; only the root is exempt). So berthd moves the processes of its own
 * cgroup O into the leaf `O/berthd` and enables the controllers in O, and containers go to
 * `O/berth/<ns>/<id>` beside that leaf (what nsjail and Docker-in-Docker's entrypoint do; runc and
 * containerd leave it to systemd). A daemon that finds itself in a cgroup named `berthd` (a restart
 * in place, or systemd's `DelegateSubgroup=berthd`) takes its parent as the base. berth-helper
 * applies the same rule (native/helper/cgroup.c), so both agree without being told.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';
/** The v2 leaf the daemon's processes live in (keep in step with DAEMON_LEAF in cgroup.h). */
export const DAEMON_LEAF = 'berthd';
/** The controllers berth uses; only those the parent offers are enabled. */
const V2_CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'pids'];

export const isCgroupV2 = (): boolean => existsSync(join(CGROUP_ROOT, 'cgroup.controllers'));

/** /proc/<pid>/cgroup as the v2 path (hierarchy 0) and the v1 controller → path entries. */
export function parseProcCgroup(text: string): { unified?: string; v1: Map<string, string> } {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, ctrls, path] = m;
    if (ctrls === '') unified = path!;
    else for (const c of ctrls!.split(',')) if (c && !c.startsWith('name=')) v1.set(c, path!);
  }
  return { unified, v1 };
}

/** On v2, the base path (relative to the cgroup root) for an own path: the parent of a daemon leaf. */
export function v2Base(own: string): string {
  const parts = own.split('/').filter(Boolean);
  return parts.at(-1) === DAEMON_LEAF ? `/${parts.slice(0, -1).join('/')}` : `/${parts.join('/')}`;
}

/** The base dir per hierarchy: v1 controller → dir, or the one v2 dir under the key ''. */
export function cgroupBaseMap(): Map<string, string> {
  const { unified, v1 } = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  const out = new Map<string, string>();
  if (isCgroupV2()) {
    if (unified !== undefined) out.set('', join(CGROUP_ROOT, v2Base(unified)));
    return out;
  }
  for (const [c, path] of v1) if (existsSync(join(CGROUP_ROOT, c))) out.set(c, join(CGROUP_ROOT, c, path));
  return out;
}

/** The base dir in every mounted hierarchy (v1 controllers, or the one v2 dir). */
export const cgroupBaseDirs = (): string[] => [...new Set(cgroupBaseMap().values())];

/** Moves every process listed in from/cgroup.procs to `to`; returns how many were listed. */
function moveProcs(from: string, to: string): number {
  const pids = readFileSync(join(from, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
  for (const pid of pids)
    try {
      writeFileSync(join(to, 'cgroup.procs'), pid);
    } catch {
      /* exited meanwhile */
    }
  return pids.length;
}

function enableControllers(dir: string): void {
  const offered = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  const want = V2_CONTROLLERS.filter((c) => offered.includes(c));
  try {
    writeFileSync(join(dir, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' '));
  } catch {
    // One controller refused (e.g. cpuset with a busy real-time task) must not cost the others.
    for (const c of want)
      try {
        writeFileSync(join(dir, 'cgroup.subtree_control'), `+${c}`);
      } catch {
        /* left off: a limit on it then fails with a clear error in the helper */
      }
  }
}

/**
 * v2 only (a no-op on v1): makes the base cgroup able to give controllers to containers' cgroups,
 * moving every process of the own cgroup (berthd, and whatever was started with it) into
 * `<own>/berthd`. Returns the base dir, or undefined on v1. Throws when the cgroup is not ours to
 * change (not root, not delegated): containers then run without resource limits.
 */
export function prepareCgroupBase(): string | undefined {
  if (!isCgroupV2()) return undefined;
  const { unified } = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  if (unified === undefined) return undefined;
  const base = join(CGROUP_ROOT, v2Base(unified));
  if (unified !== '/' && v2Base(unified) === unified) {
    const leaf = join(base, DAEMON_LEAF);
    mkdirSync(leaf, { recursive: true });
    // Processes may fork while we move them: repeat until the own cgroup is empty.
    for (let round = 0; round < 100 && moveProcs(base, leaf) > 0; round++);
  }
  enableControllers(base);
  return base;
}

/**
 * Removes the empty per-namespace dirs (`<parent>/<ns>`) and `<parent>` itself below the base in
 * every hierarchy. The helper leaves them when a container's cgroup goes (plan cgroupKeep) so the
 * next container need not re-create them; berthd calls this at start and at shutdown. rmdir only
 * ever removes an empty cgroup (no tasks, no children), so a running container's dirs stay; the
 * helper re-creates a parent removed under it (cgroup.c mkdir_below).
 */
export function removeEmptyCgroupParents(parent: string): void {
  const rel = parent.split('/').filter(Boolean);
  if (rel.length === 0) return;
  for (const own of cgroupBaseDirs()) {
    const top = join(own, ...rel);
    let entries: string[];
    try {
      entries = readdirSync(top, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      continue; // not there: nothing to remove
    }
    for (const e of entries) tryRmdir(join(top, e));
    for (let i = rel.length; i > 0 && tryRmdir(join(own, ...rel.slice(0, i))); i--);
  }
}

function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false; // not empty (EBUSY), or already gone
  }
}
