/** `berth network prune`: removes every user network no container is on, after asking (unless -f). */
import { defineCommand } from '../../command';
import { filterMap } from '../common';
import { confirm } from './confirm';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Remove all unused networks',
  maxArgs: 0,
  flags: {
    filter: { type: 'strings', desc: "Provide filter values (e.g. 'until=<timestamp>', 'label=<key>=<value>')", placeholder: 'filter' },
    force: { type: 'bool', short: 'f', desc: 'Do not prompt for confirmation' },
  },
  async run(cli, f) {
    const filters = filterMap(f.filter);
    if (
      !f.force &&
      !(await confirm(cli, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] '))
    )
      return 0;
    const { removed } = await cli.client.engine.networkPrune({ filters });
    if (removed.length) await cli.out(`Deleted Networks:\n${removed.map((n) => `${n}\n`).join('')}`);
    return 0;
  },
});
