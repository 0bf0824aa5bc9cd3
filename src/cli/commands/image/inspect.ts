/** `berth image inspect` (berthd's Engine/InspectImage). */
import { defineCommand } from '../../command';
import { FORMAT_FLAG, inspectAll } from '../inspect';

export const command = defineCommand({
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  summary: 'Display detailed information on one or more images',
  minArgs: 1,
  complete: 'images',
  flags: { format: FORMAT_FLAG },
  run: (cli, f, args) => inspectAll(cli, args, 'image', f.format),
});
