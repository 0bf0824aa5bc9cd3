/** `berth namespaces create NAME [key=value...]`. */
import { defineCommand } from '../../command';
import { keyValueArgs } from '../common';

export const command = defineCommand({
  usage: 'NAME [KEY=VALUE...]',
  summary: 'Create a namespace',
  minArgs: 1,
  flags: {},
  async run(cli, _f, [name, ...labels]) {
    await cli.client.namespaces.create({ namespace: { name, labels: keyValueArgs(labels) } });
  },
});
