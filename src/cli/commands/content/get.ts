/** `berth content get DIGEST`: the blob on stdout (streamed, at the pace stdout takes it). */
import { defineCommand } from '../../command';

export const command = defineCommand({
  usage: 'DIGEST',
  summary: 'Write a blob to stdout',
  minArgs: 1,
  maxArgs: 1,
  flags: {},
  async run(cli, _f, [digest]) {
    for await (const r of cli.client.content.read({ digest })) await cli.out(r.data);
  },
});
