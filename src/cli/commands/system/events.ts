/**
 * `berth events`: the engine's container events (replayed from `--since`, live until `--until`
 * or Ctrl-C), as Docker prints them or with `--format`.
 */
import { fromTimestamp, toTimestamp } from '../../../client';
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { parseTimeArg } from '../../output/units';
import { filterMap } from '../common';

/** Docker's line: `2024-01-02T15:04:05.123456789Z container start <id> (image=busybox, name=x)`. */
function line(e: { action: string; id: string; time: Date | undefined; attributes: Record<string, string> }): string {
  const attrs = Object.keys(e.attributes)
    .sort()
    .map((k) => `${k}=${e.attributes[k]}`)
    .join(', ');
  return `${e.time?.toISOString() ?? ''} container ${e.action} ${e.id}${attrs ? ` (${attrs})` : ''}\n`;
}

export const command = defineCommand({
  usage: '[OPTIONS]',
  summary: 'Get real time events from berthd',
  maxArgs: 0,
  flags: {
    filter: { type: 'strings', short: 'f', desc: 'Filter output based on conditions provided (container, event, image, label, type)', placeholder: 'filter' },
    format: { type: 'string', desc: "Format output using a custom template: 'json' or a Go-like template", placeholder: 'string' },
    since: { type: 'string', desc: 'Show all events created since timestamp', placeholder: 'string' },
    until: { type: 'string', desc: 'Stream events until this timestamp', placeholder: 'string' },
  },
  async run(cli, f) {
    const since = f.since === undefined ? undefined : parseTimeArg(f.since, '--since');
    const until = f.until === undefined ? undefined : parseTimeArg(f.until, '--until');
    const stream = cli.client.engine.events({ filters: filterMap(f.filter), since: since && toTimestamp(since), until: until && toTimestamp(until) });
    const stop = () => stream.cancel();
    process.once('SIGINT', stop);
    try {
      for await (const e of stream) {
        const time = fromTimestamp(e.time);
        const attributes = { ...e.attributes, image: e.image, name: e.name };
        const row = {
          Type: 'container',
          Action: e.action,
          Status: e.action,
          ID: e.id,
          id: e.id,
          From: e.image,
          Actor: { ID: e.id, Attributes: attributes },
          time: time ? Math.floor(time.getTime() / 1000) : 0,
          timeNano: time ? time.getTime() * 1e6 : 0,
        };
        await cli.out(f.format ? formatList([row], f.format, { table: '', headers: {} }) : line({ action: e.action, id: e.id, time, attributes }));
      }
    } catch (e) {
      if (!(e instanceof Error && (e as { kind?: string }).kind === 'Canceled')) throw e;
    } finally {
      process.off('SIGINT', stop);
    }
  },
});
