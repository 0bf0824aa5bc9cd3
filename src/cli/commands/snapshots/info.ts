/** `berth snapshots info KEY`: one snapshot as JSON. */
import { fromTimestamp } from '../../../client';
import { defineCommand } from '../../command';
import { formatObjects } from '../../output/format';
import { kindName, SNAPSHOTTER_FLAG, snapshotterOf } from './flags';

export const command = defineCommand({
  usage: '[OPTIONS] KEY',
  summary: 'Show a snapshot',
  minArgs: 1,
  maxArgs: 1,
  flags: {
    format: { type: 'string', short: 'f', desc: "Format output using a custom template: 'json' or a Go-like template", placeholder: 'string' },
    snapshotter: SNAPSHOTTER_FLAG,
  },
  async run(cli, f, [key]) {
    const { info: i } = await cli.client.snapshots.stat({ snapshotter: snapshotterOf(f), key });
    const view = {
      Kind: kindName(i?.kind ?? 'UNKNOWN'),
      Name: i?.name,
      Parent: i?.parent,
      Labels: i?.labels,
      Created: fromTimestamp(i?.created_at)?.toISOString(),
      Updated: fromTimestamp(i?.updated_at)?.toISOString(),
    };
    await cli.out(f.format ? formatObjects([view], f.format) : `${JSON.stringify(view, null, 4)}\n`);
  },
});
