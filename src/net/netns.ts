/**
 * Network namespaces that outlive their processes: a file in berthd's state dir with the
 * namespace bind-mounted on it (what `ip netns add` does under /run/netns; CRI runtimes and
 * Docker keep theirs the same way). The network is made in it before the container's process
 * exists, which joins it by path (as `container:` joiners do). Node cannot mount, so util-linux
 * does it (`unshare --net=FILE`, `umount`); the same process brings `lo` up (`ip link set lo up`
 * inside: what the loopback CNI plugin's ADD would do, without a second process at every start
 * and a DEL at every removal; lo holds nothing to release and dies with the namespace).
 * berthd has its helper launcher make them instead (`make`: the same three steps in a forked
 * child of a small C process) and unmount them (`unmount`), which spares its event loop a fork of
 * itself and the tools' execs for each.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { alreadyExists, internal, invalidArgument } from '../core/errors';
import { describeFailure, runTool, type ToolRunner } from './exec';
import { CNI_ID } from './cni/types';

/** Mount points in this mount namespace (mountinfo's field 5, octal escapes decoded). */
export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.add(f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** Makes a namespace with `lo` up, pinned on an existing empty file (the launcher's netns()). */
export type MakeNetns = (path: string) => Promise<void>;
/** Unmounts a namespace pinned there (the launcher's unmountNetns()). */
export type UnmountNetns = (path: string) => Promise<void>;

export class NetnsDir {
  constructor(
    readonly dir: string,
    private readonly o: { make?: MakeNetns; unmount?: UnmountNetns; run?: ToolRunner } = {},
  ) {}

  path(name: string): string {
    if (!CNI_ID.test(name)) throw invalidArgument(`network namespace name ${JSON.stringify(name)} is not valid`);
    return join(this.dir, name);
  }

  /** A new namespace (with only `lo`, up), pinned at path(name). */
  async create(name: string): Promise<string> {
    const p = this.path(name);
    if ((await mountPoints()).has(p)) throw alreadyExists(`network namespace ${p}: already exists`);
    await mkdir(this.dir, { recursive: true, mode: 0o711 });
    await writeFile(p, '', { mode: 0o444 }); // the mount point (a stale, unmounted one is reused)
    if (this.o.make) {
      try {
        await this.o.make(p);
      } catch (e) {
        await rm(p, { force: true });
        throw internal(`network namespace ${p}: ${(e as Error).message}`, { cause: e });
      }
      return p;
    }
    const r = await runTool('unshare', [`--net=${p}`, 'ip', 'link', 'set', 'lo', 'up'], { timeoutMs: 10_000 });
    if (r.code !== 0) {
      await rm(p, { force: true });
      throw internal(`network namespace ${p}: unshare failed: ${describeFailure(r)}`);
    }
    return p;
  }

  /**
   * Unmounts and removes it; nothing there is fine (idempotent). `mounted`: whether it is, when
   * the caller has just read it (inode()), so that mountinfo, which grows with the host's
   * mounts, is not read twice.
   */
  async remove(name: string, mounted?: boolean): Promise<void> {
    const p = this.path(name);
    if (mounted ?? (await mountPoints()).has(p)) {
      const failed = await (this.o.unmount ?? this.umount)(p).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      // Gone anyway (another removal's unmount won): nothing to report.
      if (failed && (await mountPoints()).has(p)) throw internal(`network namespace ${p}: ${failed.message}`, { cause: failed });
    }
    await rm(p, { force: true });
  }

  /** Without the launcher: util-linux's umount. */
  private readonly umount: UnmountNetns = async (p) => {
    const r = await (this.o.run ?? runTool)('umount', [p], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`umount failed: ${describeFailure(r)}`);
  };

  /** The namespace's inode (what /proc/PID/ns/net names), while it is pinned here. */
  async inode(name: string): Promise<number | undefined> {
    const p = this.path(name);
    return (await mountPoints()).has(p) ? (await stat(p)).ino : undefined;
  }

  async exists(name: string): Promise<boolean> {
    return (await mountPoints()).has(this.path(name));
  }

  /** Names of the namespaces pinned here. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const mounted = await mountPoints();
    return names.filter((n) => CNI_ID.test(n) && mounted.has(join(this.dir, n)));
  }
}

/**
 * Whether a process is still in the network namespace with this inode (a `container:` joiner
 * that outlives the container whose namespace it joined): one readlink per process.
 */
export function netnsHeld(ino: number): boolean {
  const want = `net:[${ino}]`;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) === want) return true;
    } catch {
      /* gone meanwhile, or a kernel thread */
    }
  }
  return false;
}
