import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Usage } from './types';

/** Blocks are reported by st_blocks in 512-byte units. */
const BLOCK_UNIT = 512;

/**
 * Disk usage of a tree (continuity's fs.DiskUsage): every distinct inode (dev, ino) is counted
 * once, its size is its allocated blocks. The root directory itself counts.
 */
export async function diskUsage(root: string): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0;
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    const st = await lstat(p);
    const k = `${st.dev}:${st.ino}`;
    if (!seen.has(k)) {
      seen.add(k);
      size += st.blocks * BLOCK_UNIT;
    }
    if (st.isDirectory()) for (const name of await readdir(p)) stack.push(join(p, name));
  }
  return { size, inodes: seen.size };
}
