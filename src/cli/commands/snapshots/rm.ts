/** `berth snapshots rm KEY...`. */
import { defineCommand } from '../../command';
import { forEachArg } from '../common';
import { SNAPSHOTTER_FLAG, snapshotterOf } from './flags';

export const command = defineCommand({
  usage: '[OPTIONS] KEY [KEY...]',
  summary: 'Remove snapshots',
  minArgs: 1,
  flags: { snapshotter: SNAPSHOTTER_FLAG },
  run: (cli, f, args) => forEachArg(cli, args, (key) => cli.client.snapshots.remove({ snapshotter: snapshotterOf(f), key }).then(() => undefined)),
});
