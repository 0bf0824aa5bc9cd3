/** Per-run shared resources (scratch dir, built images, registry), created lazily, all released by close(). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImages, busyboxImage, hostileFeaturesImage, type BuiltImageFiles } from '../../test/helpers/images';
import { startRegistry, type Registry } from '../../test/helpers/registry';
import { unmountUnder } from '../../test/helpers/mounts';
import type { BenchEnv } from './workload';

export interface OwnedEnv extends BenchEnv {
  close(): Promise<void>;
}

export async function createEnv(quick: boolean, log: (m: string) => void): Promise<OwnedEnv> {
  const workDir = await mkdtemp(join(tmpdir(), 'berth-bench-'));
  let images: Promise<BuiltImageFiles> | undefined;
  let registry: Promise<Registry> | undefined;
  return {
    workDir,
    quick,
    log,
    images: () => (images ??= buildImages(join(workDir, 'images'), [busyboxImage(), hostileFeaturesImage()])),
    registry: () => (registry ??= startRegistry()),
    async close() {
      if (registry) await (await registry.catch(() => undefined))?.stop();
      await unmountUnder(workDir);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
