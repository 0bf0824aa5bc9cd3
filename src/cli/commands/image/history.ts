/** `berth history`: an image's build steps, newest first, as Docker shows them. */
import { fromTimestamp } from '../../../client';
import type { engine } from '../../../client';
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { ago, goTime, humanSize } from '../../output/units';
import { shortId } from '../common';

const HEADERS = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };
const TABLE = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

/** Docker's CREATED BY column: newlines and tabs as spaces, cut to 45 characters with an ellipsis. */
function createdBy(s: string, noTrunc: boolean): string {
  const flat = s.replace(/[\t\n]/g, ' ');
  return !noTrunc && [...flat].length > 45 ? `${[...flat].slice(0, 44).join('')}…` : flat;
}

function row(r: engine.HistoryRow, f: { noTrunc: boolean; human: boolean }) {
  const created = fromTimestamp(r.created);
  const size = Number(r.size);
  return {
    ID: r.id.startsWith('sha256:') && !f.noTrunc ? shortId(r.id) : r.id,
    CreatedSince: created ? (f.human ? ago(created) : goTime(created)) : 'N/A',
    CreatedAt: created ? goTime(created) : '',
    CreatedBy: createdBy(r.created_by, f.noTrunc),
    Size: f.human ? humanSize(size) : String(size),
    Comment: r.comment,
  };
}

export const command = defineCommand({
  usage: '[OPTIONS] IMAGE',
  summary: 'Show the history of an image',
  minArgs: 1,
  maxArgs: 1,
  complete: 'images',
  flags: {
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go-like template", placeholder: 'string' },
    human: { type: 'bool', short: 'H', defaultTrue: true, desc: 'Print sizes and dates in human readable format' },
    noTrunc: { type: 'bool', desc: "Don't truncate output" },
    quiet: { type: 'bool', short: 'q', desc: 'Only show image IDs' },
  },
  async run(cli, f, [image]) {
    const { rows } = await cli.client.engine.history({ image });
    if (f.quiet) {
      await cli.out(rows.map((r) => `${r.id.startsWith('sha256:') && !f.noTrunc ? shortId(r.id) : r.id}\n`).join(''));
      return;
    }
    await cli.out(
      formatList(
        rows.map((r) => row(r, f)),
        f.format,
        { table: TABLE, headers: HEADERS },
      ),
    );
  },
});
