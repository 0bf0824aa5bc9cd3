/** `berth container inspect`. */
import { defineCommand } from '../../command';
import { FORMAT_FLAG, inspectAll } from '../inspect';

export const command = defineCommand({
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Display detailed information on one or more containers',
  minArgs: 1,
  complete: 'containers',
  flags: { format: FORMAT_FLAG },
  run: (cli, f, args) => inspectAll(cli, args, 'container', f.format),
});
