/** `berth namespaces ls`: berthd's namespaces and their labels. */
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'List namespaces',
  maxArgs: 0,
  flags: {
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'json' or a Go-like template", placeholder: 'string' },
    quiet: { type: 'bool', short: 'q', desc: 'Print only the namespace name' },
  },
  async run(cli, f) {
    const { namespaces } = await cli.client.namespaces.list({});
    if (f.quiet) return void (await cli.out(namespaces.map((n) => `${n.name}\n`).join('')));
    const rows = namespaces.map((n) => ({
      Name: n.name,
      Labels: Object.entries(n.labels)
        .map(([k, v]) => `${k}=${v}`)
        .sort()
        .join(','),
    }));
    await cli.out(formatList(rows, f.format, { table: 'table {{.Name}}\t{{.Labels}}', headers: { Name: 'NAME', Labels: 'LABELS' } }));
  },
});
