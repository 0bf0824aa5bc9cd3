/** `berth content ls`: blobs in the content store (ctr's columns). */
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { ago, humanSize } from '../../output/units';
import { fromTimestamp } from '../../../client';

export const command = defineCommand({
  usage: '[OPTIONS] [FILTER...]',
  summary: 'List blobs in the content store',
  flags: {
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'json' or a Go-like template", placeholder: 'string' },
    quiet: { type: 'bool', short: 'q', desc: 'Print only the blob digest' },
  },
  async run(cli, f, filters) {
    const rows = [];
    for await (const r of cli.client.content.list({ filters })) {
      for (const i of r.info) {
        const labels = Object.entries(i.labels)
          .map(([k, v]) => `${k}=${v}`)
          .sort()
          .join(',');
        rows.push({ Digest: i.digest, Size: humanSize(Number(i.size)), Bytes: Number(i.size), Age: ago(fromTimestamp(i.created_at)), Labels: labels });
      }
    }
    if (f.quiet) return void (await cli.out(rows.map((r) => `${r.Digest}\n`).join('')));
    await cli.out(
      formatList(rows, f.format, {
        table: 'table {{.Digest}}\t{{.Size}}\t{{.Age}}\t{{.Labels}}',
        headers: { Digest: 'DIGEST', Size: 'SIZE', Age: 'AGE', Labels: 'LABELS' },
      }),
    );
  },
});
