/**
 * `berth stats`: CPU, memory, network, block I/O and pids per container, as Docker's table
 * (redrawn in place on a terminal, one block per sample otherwise) or `--format`. `--no-stream`
 * prints one sample. Without names: every running container (`-a`: all), as listed at the start.
 */
import type { engine } from '../../../client';
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { bytesSize, humanSize } from '../../output/units';
import { shortId } from '../common';

const HEADERS = {
  Container: 'CONTAINER ID',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};
const TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

const pct = (v: number) => `${v.toFixed(2)}%`;

export function statsRow(id: string, name: string, s: engine.StatsSample | undefined) {
  const n = (v: string | undefined) => Number(v ?? 0);
  return {
    Container: shortId(id),
    ID: shortId(id),
    Name: name,
    CPUPerc: s ? pct(s.cpu_percent) : '--',
    MemUsage: s ? `${bytesSize(n(s.memory_usage))} / ${bytesSize(n(s.memory_limit))}` : '-- / --',
    MemPerc: s ? pct(s.memory_percent) : '--',
    NetIO: s ? `${humanSize(n(s.net_rx))} / ${humanSize(n(s.net_tx))}` : '--',
    BlockIO: s ? `${humanSize(n(s.blk_read))} / ${humanSize(n(s.blk_write))}` : '--',
    PIDs: s ? String(n(s.pids)) : '--',
  };
}

export const command = defineCommand({
  usage: '[OPTIONS] [CONTAINER...]',
  summary: 'Display a live stream of container(s) resource usage statistics',
  complete: 'running',
  flags: {
    all: { type: 'bool', short: 'a', desc: 'Show all containers (default shows just running)' },
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go-like template", placeholder: 'string' },
    noStream: { type: 'bool', desc: 'Disable streaming stats and only pull the first result' },
    noTrunc: { type: 'bool', desc: 'Do not truncate output' },
  },
  async run(cli, f, args) {
    const engine = cli.client.engine;
    let targets: Array<{ id: string; name: string }>;
    if (args.length)
      targets = await Promise.all(args.map(async (a) => engine.inspect({ container: a }).then((c) => ({ id: c.id, name: c.name.replace(/^\//, '') }))));
    else targets = (await engine.list({ all: f.all })).containers.map((c) => ({ id: c.id, name: (c.names[0] ?? '').replace(/^\//, '') }));
    const latest = new Map<string, engine.StatsSample>();
    const render = () =>
      formatList(
        targets.map((t) => statsRow(t.id, t.name, latest.get(t.id))),
        f.format,
        { table: TABLE, headers: HEADERS },
      );
    if (f.noStream) {
      await Promise.all(
        targets.map(async (t) => {
          for await (const s of engine.stats({ container: t.id, stream: false })) latest.set(t.id, s);
        }),
      );
      await cli.out(render());
      return;
    }
    const tty = cli.stdoutIsTTY;
    let timer: NodeJS.Timeout | undefined;
    const draw = () => {
      timer = undefined;
      void cli.out(tty ? `\x1b[2J\x1b[H${render()}` : render());
    };
    await Promise.all(
      targets.map(async (t) => {
        try {
          for await (const s of engine.stats({ container: t.id, stream: true })) {
            latest.set(t.id, s);
            timer ??= setTimeout(draw, 50);
          }
        } catch {
          /* a container that stops or goes away keeps its last row */
        }
      }),
    );
    if (timer) clearTimeout(timer);
    draw();
  },
});
