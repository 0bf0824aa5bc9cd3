import { createHash } from 'node:crypto';

/**
 * OCI chain IDs (image-spec identity): the first layer's chain ID is its diff ID, each next one
 * is sha256("<parent chain ID> <diff ID>"). Snapshots of unpacked layers are named by them, so
 * berth and containerd find each other's unpacked images.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const parent = out[out.length - 1];
    out.push(parent === undefined ? d : `sha256:${createHash('sha256').update(`${parent} ${d}`).digest('hex')}`);
  }
  return out;
}
