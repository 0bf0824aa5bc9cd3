/** `berth leases ls`: leases (ctr's columns). */
import { fromTimestamp } from '../../../client';
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { goTime } from '../../output/units';

export const command = defineCommand({
  usage: '[OPTIONS] [FILTER...]',
  summary: 'List leases',
  flags: {
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'json' or a Go-like template", placeholder: 'string' },
    quiet: { type: 'bool', short: 'q', desc: 'Print only the lease id' },
  },
  async run(cli, f, filters) {
    const { leases } = await cli.client.leases.list({ filters });
    if (f.quiet) return void (await cli.out(leases.map((l) => `${l.id}\n`).join('')));
    const rows = leases.map((l) => ({
      ID: l.id,
      CreatedAt: goTime(fromTimestamp(l.created_at)),
      Labels: Object.entries(l.labels)
        .map(([k, v]) => `${k}=${v}`)
        .sort()
        .join(','),
    }));
    await cli.out(
      formatList(rows, f.format, { table: 'table {{.ID}}\t{{.CreatedAt}}\t{{.Labels}}', headers: { ID: 'ID', CreatedAt: 'CREATED AT', Labels: 'LABELS' } }),
    );
  },
});
