import { join } from 'node:path';
import { blobPath } from '../../content/paths';
import { LayerApplier, LayerDiffer, LayerStager, stagingObserver } from '../../diff';
import { DIFF_SERVICE, diffService } from '../../services/diff';
import { Part, type Slice } from '../slice';
import { CONTENT, LOCAL_CONTENT } from './content';

export const APPLIER = new Part<LayerApplier>('applier');
export const DIFFER = new Part<LayerDiffer>('differ');

/**
 * Diff.Apply through berth-unpack (native/unpack), which reads committed blobs straight from the
 * local content store's files. Layers are pre-extracted under `<root>/diff-staging` (beside the
 * snapshots: same filesystem, so adopting one is a rename) while ctr writes them
 * (src/diff/staging.ts). Temporary mount points live under `<state>/diff`.
 */
export const diffSlice: Slice = {
  name: 'diff',
  requires: [CONTENT, LOCAL_CONTENT],
  provides: [APPLIER, DIFFER],
  plugins: () => [{ type: 'io.containerd.differ.v1', id: 'walking', requires: ['io.containerd.content.v1'] }],
  async wire(ctx) {
    const log = ctx.log.child({ component: 'diff' });
    const content = ctx.need(CONTENT);
    const contentRoot = ctx.need(LOCAL_CONTENT).root;
    const stager = await LayerStager.open(join(ctx.config.root, 'diff-staging'), { log, minFree: ctx.config.reservedFreeBytes });
    const off = content.observe(stagingObserver(stager, contentRoot));
    ctx.onClose(async () => {
      off();
      await stager.close();
    });
    const applier = new LayerApplier(content, {
      tmpdir: join(ctx.config.state, 'diff'),
      blobFile: (digest) => blobPath(contentRoot, digest),
      stager,
      minFree: ctx.config.reservedFreeBytes,
    });
    const differ = new LayerDiffer(content);
    ctx.provide(APPLIER, applier);
    ctx.provide(DIFFER, differ);
    ctx.services.add(DIFF_SERVICE, diffService(applier, log, differ));
  },
};
