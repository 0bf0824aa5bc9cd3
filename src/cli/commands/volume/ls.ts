/** `berth volume ls`: volumes as Docker lists them. */
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { filterMap } from '../common';
import { volumeJson } from './inspect';

const HEADERS = { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE' };
const TABLE = 'table {{.Driver}}\t{{.Name}}';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'List volumes',
  maxArgs: 0,
  flags: {
    filter: { type: 'strings', short: 'f', desc: "Provide filter values (e.g. 'dangling=true')", placeholder: 'filter' },
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go-like template", placeholder: 'string' },
    quiet: { type: 'bool', short: 'q', desc: 'Only display volume names' },
  },
  async run(cli, f) {
    const { volumes } = await cli.client.engine.listVolumes({ filters: filterMap(f.filter) });
    volumes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (f.quiet) {
      await cli.out(volumes.map((v) => `${v.name}\n`).join(''));
      return;
    }
    const rows = volumes.map((v) => ({
      ...volumeJson(v),
      Labels: Object.entries(v.labels)
        .map(([k, x]) => `${k}=${x}`)
        .join(','),
      Links: String(v.users.length),
      Size: 'N/A',
    }));
    await cli.out(formatList(rows, f.format, { table: TABLE, headers: HEADERS }));
  },
});
