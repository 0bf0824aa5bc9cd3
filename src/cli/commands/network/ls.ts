/** `berth network ls`: berthd's networks, as Docker lists them. */
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { filterMap } from '../common';
import { networkRow } from './common';

const HEADERS = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  CreatedAt: 'CREATED AT',
  Labels: 'LABELS',
};
const TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'List networks',
  maxArgs: 0,
  flags: {
    filter: {
      type: 'strings',
      short: 'f',
      desc: "Provide filter values (e.g. 'driver=bridge'; name, id, label, driver, type, dangling)",
      placeholder: 'filter',
    },
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go-like template", placeholder: 'string' },
    noTrunc: { type: 'bool', desc: 'Do not truncate the output' },
    quiet: { type: 'bool', short: 'q', desc: 'Only display network IDs' },
  },
  async run(cli, f) {
    const { networks } = await cli.client.engine.networkList({ filters: filterMap(f.filter) });
    networks.sort((a, b) => a.name.localeCompare(b.name));
    if (f.quiet) {
      await cli.out(networks.map((n) => `${f.noTrunc ? n.id : n.id.slice(0, 12)}\n`).join(''));
      return;
    }
    await cli.out(
      formatList(
        networks.map((n) => networkRow(n, f.noTrunc)),
        f.format,
        { table: TABLE, headers: HEADERS },
      ),
    );
  },
});
