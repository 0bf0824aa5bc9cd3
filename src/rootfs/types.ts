/**
 * A container's filesystem as berth-rootfs reaches it (native/rootfs/PROTOCOL.md). Every path in
 * it is resolved inside it: nothing the container did to its paths (symlinks to host paths,
 * `../../..`, symlinked parents) leads outside.
 */
import type { Readable } from 'node:stream';
import type { Mount } from '../core/types';

/** A volume or bind mount to show inside a stopped container's root, as it has them when it runs. */
export interface BindSpec {
  /** Host path (a volume's `_data`, a bind mount's source). */
  source: string;
  /** Absolute path inside the container. */
  destination: string;
  readonly: boolean;
}

export type RootfsSource =
  /** A directory on the host taken as the root (a volume, a plain rootfs directory). */
  | { kind: 'dir'; path: string }
  /** A running container: its own view (/proc/PID/root), with every mount it has. */
  | { kind: 'pid'; pid: number }
  /**
   * A container that is not running: its snapshot's mounts, mounted by berth-rootfs in a private
   * mount namespace under `tmpdir` (gone with the process), with `binds` on top.
   */
  | { kind: 'mounts'; mounts: readonly Mount[]; binds?: readonly BindSpec[]; tmpdir: string; readonly?: boolean };

/** Docker's container path stat (HEAD /containers/{id}/archive), with the POSIX mode. */
export interface PathStat {
  name: string;
  size: number;
  /** st_mode: type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** For a symlink: where it leads, resolved inside the container (absolute). */
  linkTarget?: string;
}

export type CopyUpResult = { copied: true; entries: number; bytes: number } | { copied: false; reason: 'missing' | 'not a directory' | 'not empty' };

export interface ExtractOptions {
  /** Every entry gets this owner (`cp -a`: the container's user). Default: the archive's owners. */
  chown?: { uid: number; gid: number };
  /** The container's user namespace: archive ids are container ids, mapped to host ids. */
  uidMap?: ReadonlyArray<{ containerID: number; hostID: number; size: number }>;
  gidMap?: ReadonlyArray<{ containerID: number; hostID: number; size: number }>;
  signal?: AbortSignal;
}

/** `docker diff`: A added, C changed, D deleted. */
export interface Change {
  kind: 'A' | 'C' | 'D';
  /** Absolute, in the container. */
  path: string;
}

/** A container's changes: an overlay upper dir over its lower dirs (top first), or a tree against its parent's. */
export type ChangesSource = { kind: 'overlay'; upper: string; lowers: readonly string[] } | { kind: 'compare'; dir: string; parent: string };

export interface ArchiveOptions {
  /** The archive name of the path itself (Docker: its base name; `.` for `dir/.`). None: export, its children only. */
  name?: string;
  /** The container's user namespace: host owners are written as its ids. */
  uidMap?: ExtractOptions['uidMap'];
  gidMap?: ExtractOptions['gidMap'];
  signal?: AbortSignal;
}

export interface Archive {
  /** The tar; destroyed with the error if the archive fails after it began. */
  stream: Readable;
  done: Promise<{ entries: number; bytes: number }>;
}

/** What the engine reads and writes in containers and volumes through. */
export interface RootfsOps {
  /** Copies the directory at `path` in `src` into the empty directory `dest` (a volume). */
  copyUp(src: RootfsSource, path: string, dest: string): Promise<CopyUpResult>;
  stat(src: RootfsSource, path: string): Promise<PathStat>;
  /** Extracts a tar (plain or gzip) below the directory `path`; returns the entry count. */
  extract(src: RootfsSource, path: string, tar: AsyncIterable<Buffer>, opts?: ExtractOptions): Promise<{ entries: number }>;
  changes(src: ChangesSource): Promise<Change[]>;
  /** cp out (`name` given) and export (no name): a tar of `path`. NotFound before any byte when it is missing. */
  archive(src: RootfsSource, path: string, opts?: ArchiveOptions): Promise<Archive>;
}

/** Mounts a mounted local volume (tmpfs, a bind of a host path, a device) on its directory, in berthd's mount namespace. */
export interface VolumeMounter {
  /** `options` is the volume's `o=` string. */
  mountVolume(type: string, device: string, target: string, options: string): Promise<void>;
  /** Detaches what is mounted on `target`; nothing mounted there is fine. */
  umountVolume(target: string): Promise<void>;
}
