/** `berth snapshots ls`: a snapshotter's snapshots (ctr's columns). */
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { kindName, SNAPSHOTTER_FLAG, snapshotterOf } from './flags';

export const command = defineCommand({
  usage: '[OPTIONS] [FILTER...]',
  summary: 'List snapshots',
  flags: {
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'json' or a Go-like template", placeholder: 'string' },
    snapshotter: SNAPSHOTTER_FLAG,
  },
  async run(cli, f, filters) {
    const rows = [];
    for await (const r of cli.client.snapshots.list({ snapshotter: snapshotterOf(f), filters })) {
      for (const i of r.info) rows.push({ Key: i.name, Parent: i.parent, Kind: kindName(i.kind), Labels: i.labels });
    }
    await cli.out(formatList(rows, f.format, { table: 'table {{.Key}}\t{{.Parent}}\t{{.Kind}}', headers: { Key: 'KEY', Parent: 'PARENT', Kind: 'KIND' } }));
  },
});
