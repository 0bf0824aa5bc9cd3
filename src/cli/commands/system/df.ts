/**
 * `berth system df`: images (their content size; active when a container uses them) and
 * containers (the size of each one's writable snapshot, from Snapshots/Usage), as Docker's table.
 */
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { humanSize } from '../../output/units';

const HEADERS = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
const TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

function reclaimable(part: number, total: number): string {
  return total ? `${humanSize(part)} (${Math.round((part * 100) / total)}%)` : humanSize(part);
}

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Show disk usage',
  maxArgs: 0,
  flags: {
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go-like template", placeholder: 'string' },
  },
  async run(cli, f) {
    const c = cli.client;
    const [images, list] = await Promise.all([c.engine.listImages({}), c.engine.list({ all: true })]);
    const imgSize = images.images.reduce((n, i) => n + Number(i.size), 0);
    const unused = images.images.filter((i) => i.containers === 0);
    const sizes = await Promise.all(
      list.containers.map(async (x) => {
        const d = await c.engine.inspect({ container: x.id }).catch(() => undefined);
        if (!d?.snapshot_key) return 0;
        const u = await c.snapshots.usage({ snapshotter: d.snapshotter, key: d.snapshot_key }).catch(() => undefined);
        return Number(u?.size ?? 0);
      }),
    );
    const ctrSize = sizes.reduce((n, s) => n + s, 0);
    const stoppedSize = sizes.filter((_, i) => list.containers[i]!.status !== 'running' && list.containers[i]!.status !== 'paused').reduce((n, s) => n + s, 0);
    const running = list.containers.filter((x) => x.status === 'running' || x.status === 'paused').length;
    const rows = [
      {
        Type: 'Images',
        TotalCount: String(images.images.length),
        Active: String(images.images.length - unused.length),
        Size: humanSize(imgSize),
        Reclaimable: reclaimable(
          unused.reduce((n, i) => n + Number(i.size), 0),
          imgSize,
        ),
      },
      {
        Type: 'Containers',
        TotalCount: String(list.containers.length),
        Active: String(running),
        Size: humanSize(ctrSize),
        Reclaimable: reclaimable(stoppedSize, ctrSize),
      },
    ];
    await cli.out(formatList(rows, f.format, { table: TABLE, headers: HEADERS }));
  },
});
