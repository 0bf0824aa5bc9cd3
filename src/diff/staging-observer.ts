import { join } from 'node:path';
import { blobPath, ingestDir } from '../content/paths';
import type { ContentObserver } from '../content/types';
import type { LayerStager } from './staging';

/**
 * What the content store tells the stager (NamespacedContentStore.observe): ctr names layer
 * ingests `layer-<digest>` (remotes.MakeRefKey); config and manifests are not layers. An opened
 * ingest is followed in its data file, naming its writer so that its commit vouches for the bytes.
 * A removed ingest or blob drops what was staged from it.
 * `contentRoot` is the LocalContentStore's root (ingest and blob files are read there).
 */
export function stagingObserver(stager: LayerStager, contentRoot: string): ContentObserver {
  return {
    ingestOpened: (i) => {
      if (i.ref.startsWith('layer-') && i.expected)
        stager.offerIngest(i.expected, join(ingestDir(contentRoot, i.backendRef), 'data'), i.total, { session: i.session, fileId: i.fileId });
    },
    committed: (c) => {
      if (c.ref.startsWith('layer-')) stager.offer(c.digest, blobPath(contentRoot, c.digest), c.size, c.from);
    },
    // Whatever was staged from data that is gone goes with it (the space comes back at once).
    ingestRemoved: (backendRef) => stager.ingestRemoved(join(ingestDir(contentRoot, backendRef), 'data')),
    blobRemoved: (digest) => stager.blobRemoved(blobPath(contentRoot, digest)),
  };
}
