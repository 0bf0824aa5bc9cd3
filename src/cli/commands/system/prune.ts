/**
 * `berth system prune`: stopped containers, then dangling (or with `-a` unused) images, then with
 * `--volumes` unused anonymous volumes. berth has no build cache, and networks are not the
 * engine's yet, so the prompt names only what is removed.
 */
import { defineCommand } from '../../command';
import { filterMap } from '../common';
import { confirm, deletedSection, PRUNE_FLAGS, reclaimed } from '../prune-common';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Remove unused data',
  maxArgs: 0,
  flags: {
    ...PRUNE_FLAGS,
    all: { type: 'bool', short: 'a', desc: 'Remove all unused images not just dangling ones' },
    volumes: { type: 'bool', desc: 'Prune anonymous volumes' },
  },
  async run(cli, f) {
    const what = [
      'all stopped containers',
      'all networks not used by at least one container',
      ...(f.volumes ? ['all anonymous volumes not used by at least one container'] : []),
      f.all ? 'all images without at least one container associated to them' : 'all dangling images',
    ];
    const warning = `WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join('')}`;
    if (!(await confirm(cli, warning, f.force))) return 0;
    const r = await cli.client.engine.systemPrune({ all: f.all, volumes: f.volumes, filters: filterMap(f.filter) });
    await cli.out(
      deletedSection('Deleted Containers', r.containers?.deleted ?? []) +
        deletedSection('Deleted Networks', r.networks_deleted ?? []) +
        deletedSection('Deleted Volumes', r.volumes?.volumes_deleted ?? []) +
        deletedSection(
          'Deleted Images',
          (r.images?.deleted ?? []).map((n) => `deleted: ${n}`),
        ) +
        reclaimed(r.space_reclaimed),
    );
    return 0;
  },
});
