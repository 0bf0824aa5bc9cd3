/** Incompressible payload files for ingest workloads. */
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

const MiB = 1 << 20;

/** Writes `mib` MiB of random bytes to `file`; returns its size and sha256 digest. */
export function randomFile(file: string, mib: number): { file: string; size: number; digest: string } {
  const h = createHash('sha256');
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(8 * MiB);
  try {
    for (let i = 0; i < mib; i += 8) {
      randomFillSync(buf);
      h.update(buf);
      writeSync(fd, buf);
    }
  } finally {
    closeSync(fd);
  }
  return { file, size: mib * MiB, digest: `sha256:${h.digest('hex')}` };
}
