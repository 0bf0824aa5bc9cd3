/** `berth volume prune`: unused anonymous volumes, or with `-a` every unused volume (Docker >= 23). */
import { defineCommand } from '../../command';
import { filterMap } from '../common';
import { confirm, deletedSection, PRUNE_FLAGS, reclaimed } from '../prune-common';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Remove unused local volumes',
  maxArgs: 0,
  flags: {
    ...PRUNE_FLAGS,
    all: { type: 'bool', short: 'a', desc: 'Remove all unused volumes, not just anonymous ones' },
  },
  async run(cli, f) {
    const warning = f.all
      ? 'WARNING! This will remove all local volumes not used by at least one container.'
      : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
    if (!(await confirm(cli, warning, f.force))) return 0;
    const r = await cli.client.engine.pruneVolumes({ all: f.all, filters: filterMap(f.filter) });
    await cli.out(deletedSection('Deleted Volumes', r.volumes_deleted) + reclaimed(r.space_reclaimed));
    return 0;
  },
});
