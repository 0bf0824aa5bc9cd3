/**
 * berthd's `--userns-remap USER[:GROUP]` (Docker's option of that name): every container runs in
 * a user namespace whose ids 0, 1, 2, … are the user's subordinate ids from /etc/subuid and
 * /etc/subgid, in file order, so its root is an unprivileged id on the host. Its rootfs is shown
 * through the same mapping with idmapped mounts (the helper's rootfs_idmap), so image layers stay
 * as unpacked on disk and are shared with containers that run without a mapping.
 *
 * Containers that share the host's network or pid namespace, or join another's pid, ipc or uts
 * namespace, keep the host's ids, as Docker runs them (`--userns=host`): a user namespace cannot
 * own those. A network namespace given by path that is not the host's (the engine's pinned
 * sandboxes) is remapped.
 */
import { readFileSync, statSync } from 'node:fs';
import { invalidArgument } from '../core/errors';
import type { OciSpec } from './spec';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}
export interface UsernsRemap {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}
export interface SubidFiles {
  subuid: string;
  subgid: string;
}

/** Lines `name-or-id:start:count` for the user; several ranges follow each other in the container. */
function ranges(file: string, who: string[], what: string): IdMapping[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw invalidArgument(`userns-remap: cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  const out: IdMapping[] = [];
  let next = 0;
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (!name || !who.includes(name) || !/^\d+$/.test(start ?? '') || !/^[1-9]\d*$/.test(count ?? '')) continue;
    out.push({ containerID: next, hostID: Number(start), size: Number(count) });
    next += Number(count);
  }
  if (out.length === 0) throw invalidArgument(`userns-remap: ${file} has no range for ${what} ${who[0]}`);
  if (out[0]!.hostID === 0) throw invalidArgument(`userns-remap: ${file} maps ${what} ${who[0]} onto host id 0`);
  return out;
}

/** Numeric ids of a passwd/group name (subid files may name the user either way). */
function idOf(file: string, name: string): string | undefined {
  if (/^\d+$/.test(name)) return name;
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === name)?.[2];
  } catch {
    return undefined;
  }
}

/** Resolves `USER[:GROUP]` against the subordinate id files. */
export function resolveUsernsRemap(spec: string, files: SubidFiles = { subuid: '/etc/subuid', subgid: '/etc/subgid' }): UsernsRemap {
  const [user, group = user] = spec.split(':');
  if (!user || !group) throw invalidArgument(`userns-remap ${JSON.stringify(spec)}: expected USER or USER:GROUP`);
  const uids = [user, idOf('/etc/passwd', user)].filter((x): x is string => x !== undefined);
  const gids = [group, idOf('/etc/group', group)].filter((x): x is string => x !== undefined);
  return { uidMappings: ranges(files.subuid, uids, 'user'), gidMappings: ranges(files.subgid, gids, 'group') };
}

/** Whether a container with this spec is remapped (see the file comment). */
export function wantsRemap(spec: OciSpec): boolean {
  const ns = spec.linux?.namespaces ?? [];
  if (ns.some((n) => n.type === 'user') || (spec.linux?.uidMappings?.length ?? 0) > 0) return false; // has its own mapping
  // A network namespace by path is the container's own (the engine's pinned one: the helper joins
  // it before it makes the user namespace), unless it is the host's (Docker's --net=host keeps the
  // host's ids); any other namespace joined by path is another's.
  if (ns.some((n) => n.path && (n.type !== 'network' || !isOwnNetns(n.path)))) return false;
  return ns.some((n) => n.type === 'network') && ns.some((n) => n.type === 'pid') && ns.some((n) => n.type === 'mount');
}

/**
 * Whether `path` is a network namespace other than the one berthd runs in (the host's). One it
 * cannot look at (another process's it may not read) counts as not the container's own.
 */
function isOwnNetns(path: string): boolean {
  try {
    const a = statSync(path);
    const b = statSync('/proc/self/ns/net');
    return a.dev !== b.dev || a.ino !== b.ino;
  } catch {
    return false;
  }
}
