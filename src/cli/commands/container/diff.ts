/** `berth diff`: files added (A), changed (C) and deleted (D) against the container's image. */
import { defineCommand } from '../../command';

export const command = defineCommand({
  usage: 'CONTAINER',
  summary: "Inspect changes to files or directories on a container's filesystem",
  minArgs: 1,
  maxArgs: 1,
  complete: 'containers',
  flags: {},
  async run(cli, _f, [container]) {
    const { changes } = await cli.client.engine.changes({ container });
    await cli.out(changes.map((c) => `${c.kind} ${c.path}\n`).join(''));
  },
});
