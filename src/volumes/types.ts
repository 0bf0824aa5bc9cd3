/**
 * Docker's volumes for berth's engine: named and anonymous volumes of the local driver (plain
 * directories under `<root>/volumes/<namespace>/<name>/_data`), which containers use from their
 * create to their removal. Fields follow `docker volume inspect`.
 */
import type { Ctx } from '../core/context';
import type { Labels } from '../core/types';
import type { CopyUpResult, RootfsSource } from '../rootfs';

export interface Volume {
  name: string;
  driver: string;
  /** The directory a container binds (`Mountpoint`). */
  mountpoint: string;
  createdAt: Date;
  labels: Labels;
  options: Record<string, string>;
  scope: 'local';
  /** Ids of the containers that use it (Docker's UsageData.RefCount is their number). */
  users: string[];
  /** Made for one container (an image's VOLUME, `-v /path`): labelled com.docker.volume.anonymous. */
  anonymous: boolean;
}

export interface CreateVolumeOptions {
  /** None: an anonymous volume (64 hex digits). */
  name?: string;
  driver?: string;
  labels?: Labels;
  /** Local driver options (`-o`). */
  options?: Record<string, string>;
}

/** `volume ls --filter`: dangling=true|false, driver=, label=k[=v], name= (a regular expression, as Docker matches it). */
export type VolumeFilters = Record<string, string[]>;

export interface PruneResult {
  volumesDeleted: string[];
  /** Bytes the removed volumes held. */
  spaceReclaimed: number;
}

/** What a container asks for when it is created (`-v NAME:/path`, `-v /path`, an image VOLUME, `--mount type=volume`). */
export interface VolumeRequest {
  /** None: a new anonymous volume. */
  name?: string;
  /** Used only when the volume is created by this request (`--mount volume-label=`, volume-driver, volume-opt). */
  create?: Omit<CreateVolumeOptions, 'name'>;
}

export interface Volumes {
  /** The directory a volume's users bind (`Mountpoint`), whether or not the volume exists. */
  dataDir(ns: string, name: string): string;
  /** Docker's `volume create`: an existing volume of that name is returned as it is. */
  create(ctx: Ctx, opts: CreateVolumeOptions): Promise<Volume>;
  inspect(ctx: Ctx, name: string): Promise<Volume>;
  list(ctx: Ctx, filters?: VolumeFilters): Promise<Volume[]>;
  /** Conflict while a container uses it (Docker: "volume is in use"); `force` only makes a missing one fine. */
  remove(ctx: Ctx, name: string, opts?: { force?: boolean }): Promise<void>;
  /** Removes unused volumes: anonymous ones, or all with `all` (Docker >= 23, API >= 1.42); filters label=, label!=. */
  prune(ctx: Ctx, opts?: { all?: boolean; filters?: VolumeFilters }): Promise<PruneResult>;

  /**
   * The engine, at container create: container `id` uses these volumes from now on (missing
   * ones are created, anonymous ones made). All or nothing. Returns them in request order.
   */
  use(ctx: Ctx, id: string, requests: readonly VolumeRequest[]): Promise<Array<Volume & { created: boolean }>>;
  /**
   * The engine, at container removal: `id` uses no volume any more. With `removeAnonymous`
   * (`rm -v`, `--rm`), its anonymous volumes that nobody else uses are removed. Returns the
   * removed ones.
   */
  release(ctx: Ctx, id: string, opts?: { removeAnonymous?: boolean }): Promise<string[]>;
  /**
   * The engine, when container `id` (a user) starts: the directory to bind. A mounted volume
   * (tmpfs, a bind of a host path, a device) is mounted there when its first user starts.
   */
  mount(ctx: Ctx, name: string, id: string): Promise<string>;
  /** The engine, when `id` stopped: a mounted volume is unmounted after its last running user. */
  unmount(ctx: Ctx, name: string, id: string): Promise<void>;
  /**
   * Docker's copy-up: when the volume is empty, the directory at `path` of `src` (the new
   * container's filesystem, before it runs) is copied in, owners, modes, times, xattrs and links
   * kept. Runs one at a time per volume.
   */
  populate(ctx: Ctx, name: string, src: RootfsSource, path: string): Promise<CopyUpResult>;
}
