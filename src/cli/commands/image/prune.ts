/** `berth image prune`: dangling images (known only by id), or with `-a` every image no container uses. */
import { defineCommand } from '../../command';
import { filterMap } from '../common';
import { confirm, deletedSection, PRUNE_FLAGS, reclaimed } from '../prune-common';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Remove unused images',
  maxArgs: 0,
  flags: {
    ...PRUNE_FLAGS,
    all: { type: 'bool', short: 'a', desc: 'Remove all unused images, not just dangling ones' },
  },
  async run(cli, f) {
    const warning = f.all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!(await confirm(cli, warning, f.force))) return 0;
    const r = await cli.client.engine.pruneImages({ all: f.all, filters: filterMap(f.filter) });
    await cli.out(
      deletedSection(
        'Deleted Images',
        r.deleted.map((n) => `deleted: ${n}`),
      ) + reclaimed(r.space_reclaimed),
    );
    return 0;
  },
});
