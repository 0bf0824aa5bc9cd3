/**
 * A container's mounts as Docker describes them (api/types/mount.Mount and the daemon's
 * MountPoint): what `-v`, `--mount`, `--tmpfs`, `--volumes-from` and the image's VOLUMEs ask for,
 * before volumes are resolved to directories.
 */
export type MountType = 'volume' | 'bind' | 'tmpfs';

export type Propagation = 'shared' | 'rshared' | 'slave' | 'rslave' | 'private' | 'rprivate';

export interface MountSpec {
  type: MountType;
  /** Volume name ('' = anonymous), host path (bind), '' (tmpfs). */
  source: string;
  /** Absolute path in the container. */
  target: string;
  readOnly: boolean;
  /** Binds: mount propagation (Docker's default rprivate). */
  propagation?: Propagation;
  /** Binds: `bind-nonrecursive` (a plain bind, not rbind). */
  nonRecursive?: boolean;
  /** Volumes: copy the image's content at the target into a new empty volume (Docker's default; `nocopy` turns it off). */
  copyData: boolean;
  /** Volumes: what a volume created by this mount gets (`volume-label`, `volume-opt`, `volume-driver`). */
  volumeDriver?: string;
  volumeLabels?: Record<string, string>;
  volumeOptions?: Record<string, string>;
  /** Volumes: a directory inside the volume instead of its root (`volume-subpath`). */
  subpath?: string;
  /** tmpfs: `size=` (Docker's units, parsed by the engine) and mode bits. */
  tmpfsSize?: string;
  tmpfsMode?: number;
  /** tmpfs: further mount options from `--tmpfs /path:opts`. */
  tmpfsOptions?: string[];
  /** Where it came from, for Docker's messages and inspect's Mode (`-v`'s mode string). */
  origin: 'bind-flag' | 'mount-flag' | 'tmpfs-flag' | 'volumes-from' | 'image';
  /** `-v`'s raw mode string (inspect shows it as Mode). */
  mode?: string;
}
