/** The mounts a new container asks for: its flags, the `--volumes-from` containers' mount points, the image's VOLUMEs. */
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag, parseVolumesFrom } from './parse';
import type { MountRequest } from './plan';
import type { MountSpec } from './types';

export interface MountFlags {
  binds: readonly string[];
  mounts: readonly string[];
  tmpfs: readonly string[];
  volumesFrom: readonly string[];
}

/** `mountsOf` finds a `--volumes-from` container (NotFound as Docker's "No such container") and gives its mount points. */
export async function mountRequest(
  flags: MountFlags,
  imageVolumes: readonly string[],
  mountsOf: (ref: string) => Promise<readonly MountSpec[]>,
): Promise<MountRequest> {
  const volumesFrom: NonNullable<MountRequest['volumesFrom']> = [];
  for (const raw of flags.volumesFrom) {
    const { container, mode } = parseVolumesFrom(raw);
    volumesFrom.push({ ...(mode ? { mode } : {}), mounts: await mountsOf(container) });
  }
  return {
    volumesFrom,
    binds: flags.binds.map(parseVolumeFlag),
    mounts: flags.mounts.map(parseMountFlag),
    tmpfs: flags.tmpfs.map(parseTmpfsFlag),
    imageVolumes,
  };
}
