/** `berth top`: the container's processes, as `ps -ef` shows them. */
import { defineCommand } from '../../command';
import { alignTabs } from '../../output/table';

export const command = defineCommand({
  usage: 'CONTAINER',
  summary: 'Display the running processes of a container',
  minArgs: 1,
  maxArgs: 1,
  complete: 'running',
  flags: {},
  async run(cli, _f, [container]) {
    const t = await cli.client.engine.top({ container });
    await cli.out(alignTabs([t.titles.join('\t'), ...t.processes.map((p) => p.fields.join('\t'))]));
  },
});
