import { join } from 'node:path';
import { blobPath } from '../content/paths';
import type { ContentStore } from '../content/types';
import { unavailable } from '../core/errors';
import { LayerApplier, LayerStager, stagingObserver } from '../diff';
import type { NamespacedContentStore } from '../metadata/content';
import { DIFF_SERVICE, diffService } from '../services/diff';
import type { Wiring } from './wiring';

/**
 * The diff slice: Diff.Apply through berth-unpack (native/unpack). Needs the content store
 * (part 'content', set by wireContent). Temporary mount points live under `<state>/diff`.
 * berth-unpack reads committed blobs straight from `<root>/content/blobs` (wireContent's layout),
 * and layers are pre-extracted under `<root>/diff-staging` (beside the snapshots: same
 * filesystem, so adopting one is a rename) while ctr writes them (src/diff/staging.ts).
 */
export async function wireDiff(w: Wiring): Promise<void> {
  const log = w.log.child({ component: 'diff' });
  const content = w.parts.get('content') as (ContentStore & Partial<Pick<NamespacedContentStore, 'observe'>>) | undefined;
  let applier: Pick<LayerApplier, 'apply'>;
  if (content) {
    const contentRoot = join(w.config.root, 'content');
    const blobFile = (digest: string) => blobPath(contentRoot, digest);
    let stager: LayerStager | undefined;
    if (content.observe) {
      const s = await LayerStager.open(join(w.config.root, 'diff-staging'), { log, minFree: w.config.reservedFreeBytes });
      stager = s;
      const off = content.observe(stagingObserver(s, contentRoot));
      w.onClose(async () => {
        off();
        await s.close();
      });
    }
    applier = new LayerApplier(content, { tmpdir: join(w.config.state, 'diff'), blobFile, stager, minFree: w.config.reservedFreeBytes });
  } else {
    applier = {
      apply: async () => {
        throw unavailable('diff apply: no content store');
      },
    };
  }
  w.plugins.push({ type: 'io.containerd.differ.v1', id: 'walking', requires: ['io.containerd.content.v1'] });
  w.services.add(DIFF_SERVICE, diffService(applier, log));
}
