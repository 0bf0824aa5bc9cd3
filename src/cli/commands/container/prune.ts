/** `berth container prune`: every container that is not running. */
import { defineCommand } from '../../command';
import { filterMap } from '../common';
import { confirm, deletedSection, PRUNE_FLAGS, reclaimed } from '../prune-common';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Remove all stopped containers',
  maxArgs: 0,
  flags: PRUNE_FLAGS,
  async run(cli, f) {
    if (!(await confirm(cli, 'WARNING! This will remove all stopped containers.', f.force))) return 0;
    const r = await cli.client.engine.prune({ filters: filterMap(f.filter) });
    await cli.out(deletedSection('Deleted Containers', r.deleted) + reclaimed(r.space_reclaimed));
    return 0;
  },
});
