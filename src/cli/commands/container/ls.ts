/** `berth ps`: containers as Docker lists them. */
import { fromTimestamp } from '../../../client';
import type { engine } from '../../../client';
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { ago, goTime } from '../../output/units';
import { filterMap, shortId } from '../common';
import { portsColumn } from '../network/ports';

const HEADERS = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Status: 'STATUS',
  Ports: 'PORTS',
  Names: 'NAMES',
  State: 'STATE',
  Labels: 'LABELS',
  Size: 'SIZE',
  Networks: 'NETWORKS',
  Mounts: 'MOUNTS',
};
const TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** Docker's command column: quoted, cut to 20 characters with an ellipsis. */
function commandColumn(c: string, noTrunc: boolean): string {
  const cut = !noTrunc && [...c].length > 20 ? `${[...c].slice(0, 19).join('')}…` : c;
  return `"${cut}"`;
}

/** One row as `--format` sees it: Docker's field names. */
export function psRow(c: engine.ContainerSummary, noTrunc: boolean) {
  const created = fromTimestamp(c.created);
  return {
    ID: noTrunc ? c.id : shortId(c.id),
    Image: c.image,
    Command: commandColumn(c.command, noTrunc),
    CreatedAt: goTime(created),
    RunningFor: ago(created),
    Ports: portsColumn(c.ports),
    State: c.status,
    Status: c.status_text,
    Size: '',
    Names: c.names.map((n) => n.replace(/^\//, '')).join(','),
    Labels: Object.entries(c.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Mounts: '',
    Networks: c.networks.join(','),
    Label(key: string) {
      return c.labels[key] ?? '';
    },
  };
}

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'List containers',
  maxArgs: 0,
  flags: {
    all: { type: 'bool', short: 'a', desc: 'Show all containers (default shows just running)' },
    filter: {
      type: 'strings',
      short: 'f',
      desc: 'Filter output based on conditions provided (id, name, status, exited, label, ancestor)',
      placeholder: 'filter',
    },
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go-like template", placeholder: 'string' },
    last: { type: 'int', short: 'n', desc: 'Show n last created containers (includes all states)', placeholder: 'int', defaultText: '-1' },
    latest: { type: 'bool', short: 'l', desc: 'Show the latest created container (includes all states)' },
    noTrunc: { type: 'bool', desc: "Don't truncate output" },
    quiet: { type: 'bool', short: 'q', desc: 'Only display container IDs' },
    size: { type: 'bool', short: 's', desc: 'Display total file sizes (not supported yet: shown empty)', hidden: true },
  },
  async run(cli, f) {
    const filters = filterMap(f.filter);
    const last = f.latest ? 1 : (f.last ?? -1);
    const all = f.all || last > 0 || 'status' in filters || 'exited' in filters;
    let { containers } = await cli.client.engine.list({ all, filters });
    if (last > 0) containers = containers.slice(0, last);
    if (f.quiet) {
      await cli.out(containers.map((c) => `${f.noTrunc ? c.id : shortId(c.id)}\n`).join(''));
      return;
    }
    await cli.out(
      formatList(
        containers.map((c) => psRow(c, f.noTrunc)),
        f.format,
        { table: TABLE, headers: HEADERS },
      ),
    );
  },
});
