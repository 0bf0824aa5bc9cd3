import { join } from 'node:path';
import type { ContentStore } from '../content/types';
import { unavailable } from '../core/errors';
import { LayerApplier } from '../diff';
import { DIFF_SERVICE, diffService } from '../services/diff';
import type { Wiring } from './wiring';

/**
 * The diff slice: Diff.Apply through berth-unpack (native/unpack). Needs the content store
 * (part 'content', set by wireContent). Temporary mount points live under `<state>/diff`.
 */
export async function wireDiff(w: Wiring): Promise<void> {
  const log = w.log.child({ component: 'diff' });
  const content = w.parts.get('content') as ContentStore | undefined;
  const applier = content
    ? new LayerApplier(content, { tmpdir: join(w.config.state, 'diff') })
    : {
        apply: async () => {
          throw unavailable('diff apply: no content store');
        },
      };
  w.plugins.push({ type: 'io.containerd.differ.v1', id: 'walking', requires: ['io.containerd.content.v1'] });
  w.services.add(DIFF_SERVICE, diffService(applier, log));
}
