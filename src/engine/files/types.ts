/** What the engine does with containers' files and images' tarballs (`cp`, `export`, `diff`, `history`, `import`). */
import type { Ctx } from '../../core/context';
import type { Archive, Change, PathStat } from '../../rootfs';
import type { HistoryRow } from '../history';

export interface CopyToOptions {
  /** `cp -a`: every entry owned by the container's user (Config.User), as Docker's copyUIDGID. Default: the archive's owners. */
  copyUIDGID?: boolean;
  signal?: AbortSignal;
}

export interface ImportOptions {
  /** `repo[:tag]`; none = a dangling image known by its id. */
  reference?: string;
  /** `--change 'CMD ["sh"]'`: Dockerfile instructions applied to the config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL). */
  changes?: string[];
  /** `--message`: the history entry's comment (Docker's default "Imported from -"). */
  message?: string;
  /** `--platform os/arch[/variant]`; default this host's. */
  platform?: string;
}

export interface EngineFiles {
  /** Docker's `HEAD /containers/{id}/archive`: a path's stat, a symlink's target resolved in the container. */
  statPath(ctx: Ctx, ref: string, path: string): Promise<PathStat>;
  /** `cp CONTAINER:PATH …`: the path's stat and a tar of it, its entries named from the path's base name. */
  copyFrom(ctx: Ctx, ref: string, path: string, opts?: { signal?: AbortSignal }): Promise<{ stat: PathStat; archive: Archive }>;
  /** `cp … CONTAINER:PATH`: a tar (plain or gzip) extracted below the directory PATH. */
  copyTo(ctx: Ctx, ref: string, path: string, tar: AsyncIterable<Buffer>, opts?: CopyToOptions): Promise<void>;
  /** `export`: the container's root filesystem (not its volumes) as a tar. */
  export(ctx: Ctx, ref: string, opts?: { signal?: AbortSignal }): Promise<Archive>;
  /** `diff`: A/C/D against its image. */
  changes(ctx: Ctx, ref: string): Promise<Change[]>;
  /** `history IMAGE`. */
  history(ctx: Ctx, image: string): Promise<HistoryRow[]>;
  /** `import`: a filesystem tarball (plain or gzip) becomes a single-layer image. */
  importImage(ctx: Ctx, tar: AsyncIterable<Buffer>, opts?: ImportOptions): Promise<{ imageId: string; name: string }>;
}
