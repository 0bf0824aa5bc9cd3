/** `berth images`: images as Docker lists them, one row per name (an image known only by id: one `<none>` row). */
import { fromTimestamp } from '../../../client';
import type { engine } from '../../../client';
import { defineCommand } from '../../command';
import { formatList } from '../../output/format';
import { ago, goTime, humanSize } from '../../output/units';
import { filterMap, shortId } from '../common';
import { splitName } from './names';

const HEADERS = {
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  ID: 'IMAGE ID',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
};
const TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
const TABLE_DIGESTS = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

export function imageRows(images: readonly engine.ImageSummary[], noTrunc: boolean) {
  return images.flatMap((i) => {
    const created = i.created ? fromTimestamp(i.created) : undefined;
    const digest = i.repo_digests[0]?.replace(/^.*@/, '') ?? '<none>';
    const base = {
      ID: noTrunc ? i.id : shortId(i.id),
      Digest: digest,
      CreatedAt: goTime(created),
      CreatedSince: created ? ago(created) : 'N/A',
      Size: humanSize(Number(i.size)),
      Containers: String(i.containers),
      Labels: Object.entries(i.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    };
    const names = i.repo_tags.length ? i.repo_tags : [i.repo_digests[0]?.replace(/@.*$/, '') ?? '<none>'];
    return names.map((n) => {
      const { repository, tag } = n === '<none>' ? { repository: '<none>', tag: '<none>' } : splitName(n);
      return { Repository: repository, Tag: tag, ...base };
    });
  });
}

export const command = defineCommand({
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  summary: 'List images',
  maxArgs: 1,
  flags: {
    all: { type: 'bool', short: 'a', desc: 'Show all images (berth keeps no intermediate images: same as without)' },
    digests: { type: 'bool', desc: 'Show digests' },
    filter: {
      type: 'strings',
      short: 'f',
      desc: 'Filter output based on conditions provided (reference, dangling, label, before, since)',
      placeholder: 'filter',
    },
    format: { type: 'string', desc: "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go-like template", placeholder: 'string' },
    noTrunc: { type: 'bool', desc: "Don't truncate output" },
    quiet: { type: 'bool', short: 'q', desc: 'Only show image IDs' },
  },
  async run(cli, f, [repo]) {
    const filters = filterMap(f.filter);
    if (repo) (filters.reference ??= { values: [] }).values.push(repo);
    const { images } = await cli.client.engine.listImages({ filters });
    if (f.quiet) {
      const ids = [...new Set(images.map((i) => (f.noTrunc ? i.id : shortId(i.id))))];
      await cli.out(ids.map((id) => `${id}\n`).join(''));
      return;
    }
    await cli.out(formatList(imageRows(images, f.noTrunc), f.format, { table: f.digests ? TABLE_DIGESTS : TABLE, headers: HEADERS }));
  },
});
