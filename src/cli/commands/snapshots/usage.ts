/** `berth snapshots usage [KEY...]`: disk usage per snapshot (all of them without keys). */
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { humanSize } from '../../output/units';
import { SNAPSHOTTER_FLAG, snapshotterOf } from './flags';

export const command = defineCommand({
  usage: '[OPTIONS] [KEY...]',
  summary: 'Show the disk usage of snapshots',
  flags: {
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'json' or a Go-like template", placeholder: 'string' },
    snapshotter: SNAPSHOTTER_FLAG,
  },
  async run(cli, f, keys) {
    const snapshotter = snapshotterOf(f);
    if (!keys.length) for await (const r of cli.client.snapshots.list({ snapshotter })) keys.push(...r.info.map((i) => i.name));
    const rows = [];
    for (const key of keys) {
      const u = await cli.client.snapshots.usage({ snapshotter, key });
      rows.push({ Key: key, Size: humanSize(Number(u.size)), Bytes: Number(u.size), Inodes: Number(u.inodes) });
    }
    await cli.out(formatList(rows, f.format, { table: 'table {{.Key}}\t{{.Size}}\t{{.Inodes}}', headers: { Key: 'KEY', Size: 'SIZE', Inodes: 'INODES' } }));
  },
});
